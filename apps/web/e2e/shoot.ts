// By hand: `tsx apps/web/e2e/shoot.ts http://127.0.0.1:3100/ name [outdir]` -> screenshots and console errors.
import { DESKTOP, launchChromium, openPage, screenshotBoth } from './browser';

const [url, name, dir = '/tmp/shots'] = process.argv.slice(2);
const browser = await launchChromium();
const context = await browser.newContext({ viewport: DESKTOP });
const { page, errors } = await openPage(context);
await page.goto(url, { waitUntil: 'networkidle' });
await screenshotBoth(page, dir, name);
console.log(errors.length ? `console errors:\n${errors.join('\n')}` : 'no console errors');
await browser.close();
