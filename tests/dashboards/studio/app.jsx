// The test page: a dashboard drawn by Splunk's own DashboardCore with the Enterprise preset,
// inside the Splunk theme.
//
// The page gives its own elements no id: a Studio table uses each field name as the id of
// its header cell, so any id of ours could collide with a field of that name.
import React from 'react';
import { createRoot } from 'react-dom/client';
import DashboardCore from '@splunk/dashboard-core';
import { DashboardContextProvider } from '@splunk/dashboard-context';
import EnterprisePreset from '@splunk/dashboard-presets/EnterprisePreset';
import SplunkThemeProvider from '@splunk/themes/SplunkThemeProvider';

// The driver (render.js) calls window.__studioRender({definition, colorScheme}) once per
// dashboard and reads window.__STUDIO_RESULT__.
window.__STUDIO_RESULT__ = null;

// DashboardCore validates in a web worker and says nothing when all is well: note the worker's
// answer (null, or a list of errors) so the driver knows validation is over.
const NativeWorker = window.Worker;
window.Worker = class extends NativeWorker {
  constructor(...args) {
    super(...args);
    this.addEventListener('message', (event) => {
      if (window.__STUDIO_RESULT__ && (event.data === null || Array.isArray(event.data))) {
        window.__STUDIO_RESULT__.validatorAnswered = true;
      }
    });
  }
};

class Boundary extends React.Component {
  constructor(props) {
    super(props);
    this.state = { failed: false };
  }

  static getDerivedStateFromError() {
    return { failed: true };
  }

  componentDidCatch(error) {
    this.props.result.fatal = String((error && error.stack) || error);
  }

  render() {
    return this.state.failed ? null : this.props.children;
  }
}

const container = document.createElement('div');
container.setAttribute('data-harness', 'root');
document.body.appendChild(container);
let root = null;

window.__studioRender = ({ definition, colorScheme }) => {
  const result = { validationErrors: [], validatorAnswered: false, fatal: null };
  window.__STUDIO_RESULT__ = result;
  // DashboardCore calls this once per error, with the error's message.
  const onValidationError = (error) => {
    result.validationErrors.push(typeof error === 'string' ? error : JSON.stringify(error));
  };
  try {
    if (root) root.unmount();
    root = createRoot(container);
    root.render(
      <Boundary result={result}>
        <SplunkThemeProvider family="prisma" colorScheme={colorScheme || 'light'} density="comfortable">
          <DashboardContextProvider preset={EnterprisePreset} initialDefinition={definition}>
            <DashboardCore width="100%" height="auto" onValidationError={onValidationError} />
          </DashboardContextProvider>
        </SplunkThemeProvider>
      </Boundary>,
    );
  } catch (error) {
    result.fatal = String((error && error.stack) || error);
  }
};
