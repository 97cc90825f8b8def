// A labelled group of checkboxes (several values: a sweep) or radio buttons (one value: a single run).
import { FieldMessage } from './FieldMessage';

export interface ChoiceGroupProps {
  legend: string;
  name: string;
  options: { value: string; label?: string }[];
  selected: string[];
  multiple: boolean;
  error?: string;
  onChange(next: string[]): void;
}

export function ChoiceGroup({ legend, name, options, selected, multiple, error, onChange }: ChoiceGroupProps) {
  const errorId = `${name}-error`;
  return (
    <fieldset aria-invalid={error ? true : undefined} aria-describedby={error ? errorId : undefined} data-field={name}>
      <legend>{legend}</legend>
      <div className="checks">
        {options.map((o) => {
          const checked = selected.includes(o.value);
          return (
            <label key={o.value} className="inline">
              <input
                type={multiple ? 'checkbox' : 'radio'}
                name={name}
                value={o.value}
                checked={checked}
                onChange={() => onChange(multiple ? (checked ? selected.filter((v) => v !== o.value) : [...selected, o.value]) : [o.value])}
              />
              {o.label ?? o.value}
            </label>
          );
        })}
      </div>
      <FieldMessage id={errorId} message={error} />
    </fieldset>
  );
}
