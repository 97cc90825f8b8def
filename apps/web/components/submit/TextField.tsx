// A labelled text or number input with its validation message.
import { FieldMessage } from './FieldMessage';

export interface TextFieldProps {
  label: string;
  name: string;
  value: string;
  error?: string;
  hint?: string;
  size?: number;
  inputMode?: 'numeric' | 'text';
  onChange(v: string): void;
}

export function TextField({ label, name, value, error, hint, size = 8, inputMode = 'numeric', onChange }: TextFieldProps) {
  const errorId = `${name}-error`;
  return (
    <label>
      {label}
      <input
        type="text"
        name={name}
        inputMode={inputMode}
        size={size}
        value={value}
        placeholder={hint}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? errorId : undefined}
        onChange={(e) => onChange(e.target.value)}
      />
      <FieldMessage id={errorId} message={error} />
    </label>
  );
}
