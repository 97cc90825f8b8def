// The validation message under a control (an id for aria-describedby; an alert so screen readers hear it).
// A span, because it sits inside the control's <label>.
export function FieldMessage({ id, message }: { id: string; message?: string }) {
  return (
    <span id={id} className="field-error" role={message ? 'alert' : undefined} hidden={!message}>
      {message}
    </span>
  );
}
