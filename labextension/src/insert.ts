/**
 * The `jupyter-eo:insert-code-cell` command: insert one code cell, atomically, below a target cell.
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICodeCellModel } from '@jupyterlab/cells';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';

export const INSERT_COMMAND = 'jupyter-eo:insert-code-cell';

/** Arguments of the insert command. */
export interface IInsertArgs {
  /** Source of the new code cell. */
  code: string;
  /** Id of the cell to insert below; default: the active cell. */
  cellId?: string;
  /** Notebook path; default: the notebook holding `cellId`, else the current notebook. */
  path?: string;
}

/** What the insert command returns. */
export interface IInsertResult {
  path: string;
  /** Id of the new cell. */
  cellId: string;
  /** Index of the new cell. */
  index: number;
}

/** A notebook panel and the index of a cell in it. */
export interface ICellLocation {
  panel: NotebookPanel;
  index: number;
}

/** Every notebook panel the tracker knows (current first). */
export function allPanels(tracker: INotebookTracker): NotebookPanel[] {
  const panels: NotebookPanel[] = [];
  const current = tracker.currentWidget;
  if (current) {
    panels.push(current);
  }
  tracker.forEach(panel => {
    if (panel !== current) {
      panels.push(panel);
    }
  });
  return panels;
}

/** Find the cell with model id `cellId` (optionally only in the notebook at `path`). */
export function findCell(
  tracker: INotebookTracker,
  cellId: string,
  path?: string
): ICellLocation | null {
  for (const panel of allPanels(tracker)) {
    if (path && panel.context.path !== path) {
      continue;
    }
    const cells = panel.content.model?.cells;
    if (!cells) {
      continue;
    }
    for (let index = 0; index < cells.length; index++) {
      if (cells.get(index).id === cellId) {
        return { panel, index };
      }
    }
  }
  return null;
}

/** Model ids of the widget views shown in a code cell's outputs. */
export function widgetModelIds(cell: ICodeCellModel): string[] {
  const ids: string[] = [];
  const outputs = cell.outputs;
  for (let i = 0; i < outputs.length; i++) {
    const data = outputs.get(i).data as ReadonlyPartialJSONObject;
    const view = data['application/vnd.jupyter.widget-view+json'] as
      | ReadonlyPartialJSONObject
      | undefined;
    if (view && typeof view['model_id'] === 'string') {
      ids.push(view['model_id'] as string);
    }
  }
  return ids;
}

/**
 * Insert a code cell with `code` directly below `target` in one shared-model transaction
 * (one undo step; the source is set at creation, not typed in afterwards).
 */
export function insertBelow(
  target: ICellLocation,
  code: string
): IInsertResult {
  const model = target.panel.content.model;
  if (!model) {
    throw new Error('notebook has no model');
  }
  const index = target.index + 1;
  const cell = model.sharedModel.insertCell(index, {
    cell_type: 'code',
    source: code,
    metadata: {}
  });
  return { path: target.panel.context.path, cellId: cell.getId(), index };
}

/** Resolve the command arguments to a target cell location. */
export function resolveTarget(
  tracker: INotebookTracker,
  args: IInsertArgs
): ICellLocation {
  if (args.cellId) {
    const found = findCell(tracker, args.cellId, args.path);
    if (!found) {
      throw new Error(`cell ${args.cellId} not found`);
    }
    return found;
  }
  let panel: NotebookPanel | null = tracker.currentWidget;
  if (args.path) {
    panel = allPanels(tracker).find(p => p.context.path === args.path) ?? null;
  }
  if (!panel) {
    throw new Error('no notebook to insert into');
  }
  return { panel, index: panel.content.activeCellIndex };
}

export const insertPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-eo:insert',
  description: 'Command that inserts a code cell below a given cell.',
  autoStart: true,
  requires: [INotebookTracker],
  activate: (app: JupyterFrontEnd, tracker: INotebookTracker) => {
    app.commands.addCommand(INSERT_COMMAND, {
      label: 'Insert Code Cell Below (jupyter_eo)',
      describedBy: {
        args: {
          type: 'object',
          properties: {
            code: { type: 'string', description: 'Source of the new code cell' },
            cellId: { type: 'string', description: 'Insert below this cell (default: active cell)' },
            path: { type: 'string', description: 'Notebook path (default: current notebook)' }
          },
          required: ['code']
        }
      },
      execute: args => {
        const code = args['code'];
        if (typeof code !== 'string') {
          throw new Error(`${INSERT_COMMAND}: "code" must be a string`);
        }
        const target = resolveTarget(tracker, {
          code,
          cellId: typeof args['cellId'] === 'string' ? args['cellId'] : undefined,
          path: typeof args['path'] === 'string' ? args['path'] : undefined
        });
        const result = insertBelow(target, code);
        return result as unknown as ReadonlyPartialJSONObject;
      }
    });
  }
};
