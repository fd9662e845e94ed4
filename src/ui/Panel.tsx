import { useId, type ReactNode } from 'react';

/** A titled card: one region of the page, named by its heading for screen readers. */
export function Panel({ title, actions, className, children }: { title: string; actions?: ReactNode; className?: string; children: ReactNode }) {
  const id = useId();
  return (
    <section className={`panel ${className ?? ''}`} aria-labelledby={id}>
      <header className="panel-head">
        <h2 id={id}>{title}</h2>
        {actions}
      </header>
      {children}
    </section>
  );
}
