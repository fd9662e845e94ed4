import { Component, type ReactNode } from 'react';

/** A part of the page that failed to render shows why, instead of taking the whole app down. */
export class ErrorBoundary extends Component<{ what: string; children: ReactNode }, { error: Error | null }> {
  override state = { error: null as Error | null };

  static getDerivedStateFromError(error: Error) {
    return { error };
  }

  override render() {
    const { error } = this.state;
    if (!error) return this.props.children;
    return (
      <div className="alert" role="alert" data-kind="internal">
        <div className="alert-body">
          <strong>The {this.props.what} failed to draw</strong>
          <p className="alert-message">{error.message}</p>
          <p className="alert-advice">This is a bug: try another view, or reload the page. The rest of the app keeps working.</p>
        </div>
        <div className="alert-actions">
          <button type="button" className="button small" onClick={() => this.setState({ error: null })}>
            Try again
          </button>
        </div>
      </div>
    );
  }
}
