/**
 * "Process plaza" in the openEO sidebar: opens `ProcessPlaza` in a notebook cell.
 *
 * The command `jupyter-eo:open-process-plaza` inserts a code cell that shows the plaza below
 * the active cell of the current notebook (a new notebook when none is open) and runs it.
 * The button is added to the backends panel's header once the shell is restored.
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { INotebookTracker, NotebookActions, NotebookPanel } from '@jupyterlab/notebook';

import { insertBelow } from './insert';

export const PLAZA_COMMAND = 'jupyter-eo:open-process-plaza';
const SIDEBAR_ID = 'jupyter-eo-backends';

/** The code of the cell that shows the plaza on `backendId`. */
export function plazaCode(backendId = 'local'): string {
  return [
    'import jupyter_eo',
    'from jupyter_eo.widgets import ProcessPlaza',
    '',
    `connection = jupyter_eo.connect(${JSON.stringify(backendId)})`,
    'plaza = ProcessPlaza(connection)',
    'plaza'
  ].join('\n');
}

async function targetPanel(app: JupyterFrontEnd, tracker: INotebookTracker): Promise<NotebookPanel> {
  const current = tracker.currentWidget;
  if (current) {
    return current;
  }
  const created = (await app.commands.execute('notebook:create-new', {
    kernelName: 'python3'
  })) as NotebookPanel;
  await created.context.ready;
  return created;
}

export const plazaPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-eo:process-plaza',
  description: 'Opens the process plaza (ProcessPlaza) in a notebook cell.',
  autoStart: true,
  requires: [INotebookTracker],
  activate: (app: JupyterFrontEnd, tracker: INotebookTracker) => {
    app.commands.addCommand(PLAZA_COMMAND, {
      label: 'Open the openEO process plaza',
      execute: async args => {
        const backendId = typeof args['backendId'] === 'string' ? args['backendId'] : 'local';
        const panel = await targetPanel(app, tracker);
        await panel.sessionContext.ready;
        const model = panel.content.model;
        const empty = model !== null && model.cells.length === 1 && model.cells.get(0).sharedModel.getSource() === '';
        let index: number;
        if (empty && model) {
          model.cells.get(0).sharedModel.setSource(plazaCode(backendId));
          index = 0;
        } else {
          index = insertBelow({ panel, index: panel.content.activeCellIndex }, plazaCode(backendId)).index;
        }
        panel.content.activeCellIndex = index;
        await NotebookActions.run(panel.content, panel.sessionContext);
        return { path: panel.context.path, index };
      }
    });
    void app.restored.then(() => {
      const sidebar = [...app.shell.widgets('left')].find(w => w.id === SIDEBAR_ID);
      if (!sidebar) {
        return;
      }
      const button = document.createElement('button');
      button.className = 'jp-mod-styled jp-eo-open-plaza';
      button.title = 'Find, run and share openEO processes in a notebook';
      button.textContent = 'Process plaza';
      button.style.margin = '0 0 8px 0';
      button.onclick = () => void app.commands.execute(PLAZA_COMMAND, {});
      const header = sidebar.node.querySelector('.jp-eo-Sidebar-header');
      sidebar.node.insertBefore(button, header ? header.nextSibling : sidebar.node.firstChild);
    });
  }
};
