import type { ReactNode } from 'react';
import './globals.css';

export const metadata = {
  title: 'kvbench',
  description: "What quantizing an LLM's KV cache does to the model, at every key/value bit split.",
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <nav className="site-nav" aria-label="Main">
          <a className="brand" href="/">kvbench</a>
          <a href="/">Leaderboard</a>
          <a href="/submit">Submit</a>
          <a href="/sweeps">Sweeps</a>
          <a href="/admin/queue">Queue</a>
        </nav>
        {children}
      </body>
    </html>
  );
}
