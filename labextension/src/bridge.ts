/**
 * Kernel bridge: a comm target on every notebook kernel, so kernel-side Python
 * (`jupyter_eo.bridge.insert_code_cell`) can insert a code cell below the cell that shows a widget.
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ISessionContext } from '@jupyterlab/apputils';
import { CodeCell, ICodeCellModel } from '@jupyterlab/cells';
import { IConsoleTracker } from '@jupyterlab/console';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { Kernel, KernelMessage } from '@jupyterlab/services';
import { JSONObject, ReadonlyPartialJSONObject } from '@lumino/coreutils';

import {
  ICellLocation,
  IInsertResult,
  INSERT_COMMAND,
  allPanels,
  widgetModelIds
} from './insert';

/** Comm target name; must match `jupyter_eo.bridge.TARGET`. */
export const COMM_TARGET = 'jupyter_eo.bridge';
/** Protocol version; must match `jupyter_eo.bridge.PROTOCOL`. */
export const PROTOCOL = 1;
/** How long a pointer press counts as "the click that triggered the request" (ms). */
const POINTER_MEMORY_MS = 15000;

/** Insert requests already handled in this page (several connections may see one comm). */
const handledComms = new Set<string>();
/** Kernel connections that already have our comm target. */
const registered = new WeakSet<Kernel.IKernelConnection>();
let lastPointer: { target: EventTarget | null; time: number } = {
  target: null,
  time: 0
};

/** The kernel-side request of one insert comm. */
interface IInsertRequest {
  code: string;
  anchors: string[];
  parentMsgId: string | null;
}

function parseRequest(data: ReadonlyPartialJSONObject): IInsertRequest {
  const code = data['code'];
  if (typeof code !== 'string') {
    throw new Error('insert request without code');
  }
  const anchors = Array.isArray(data['anchors'])
    ? (data['anchors'] as unknown[]).filter(
        (a): a is string => typeof a === 'string'
      )
    : [];
  const parent = data['parent_msg_id'];
  return {
    code,
    anchors,
    parentMsgId: typeof parent === 'string' ? parent : null
  };
}

function panelsOfKernel(
  tracker: INotebookTracker,
  kernelId: string
): NotebookPanel[] {
  return allPanels(tracker).filter(
    p => p.sessionContext.session?.kernel?.id === kernelId
  );
}

/** Among several cells showing the widget, prefer the one the user just clicked or focused. */
function pick(hits: ICellLocation[]): ICellLocation {
  const hints: (EventTarget | null)[] = [];
  if (Date.now() - lastPointer.time < POINTER_MEMORY_MS) {
    hints.push(lastPointer.target);
  }
  hints.push(document.activeElement);
  for (const hint of hints) {
    if (!(hint instanceof Node)) {
      continue;
    }
    const hit = hits.find(h =>
      h.panel.content.widgets[h.index]?.node.contains(hint)
    );
    if (hit) {
      return hit;
    }
  }
  const active = hits.find(h => h.panel.content.activeCellIndex === h.index);
  return active ?? hits[0];
}

/** The cell below which to insert: the one showing the nearest anchor widget. */
export function locateTarget(
  panels: NotebookPanel[],
  request: IInsertRequest
): ICellLocation | null {
  if (request.anchors.length > 0) {
    for (const anchor of request.anchors) {
      const hits: ICellLocation[] = [];
      for (const panel of panels) {
        const cells = panel.content.model?.cells;
        for (let index = 0; cells && index < cells.length; index++) {
          const cell = cells.get(index);
          if (
            cell.type === 'code' &&
            widgetModelIds(cell as ICodeCellModel).includes(anchor)
          ) {
            hits.push({ panel, index });
          }
        }
      }
      if (hits.length > 0) {
        return pick(hits);
      }
    }
    return null; // the widget is not shown in any notebook cell: let the kernel fall back
  }
  if (request.parentMsgId) {
    for (const panel of panels) {
      const widgets = panel.content.widgets;
      for (let index = 0; index < widgets.length; index++) {
        const cell = widgets[index];
        if (
          cell instanceof CodeCell &&
          cell.outputArea.future?.msg.header.msg_id === request.parentMsgId
        ) {
          return { panel, index };
        }
      }
    }
  }
  const panel = panels[0];
  return panel ? { panel, index: panel.content.activeCellIndex } : null;
}

async function handleInsert(
  app: JupyterFrontEnd,
  tracker: INotebookTracker,
  kernelId: string,
  comm: Kernel.IComm,
  data: ReadonlyPartialJSONObject
): Promise<void> {
  let reply: JSONObject;
  try {
    const request = parseRequest(data);
    const target = locateTarget(panelsOfKernel(tracker, kernelId), request);
    if (!target) {
      reply = {
        type: 'result',
        ok: false,
        reason: 'no notebook cell of this kernel shows the anchor widget'
      };
    } else {
      const cellId = target.panel.content.model!.cells.get(target.index).id;
      const result = (await app.commands.execute(INSERT_COMMAND, {
        code: request.code,
        cellId,
        path: target.panel.context.path
      })) as IInsertResult;
      reply = {
        type: 'result',
        ok: true,
        cell_id: result.cellId,
        index: result.index,
        path: result.path
      };
    }
  } catch (error) {
    reply = { type: 'result', ok: false, reason: String(error) };
  }
  comm.send(reply);
  comm.close();
}

function onCommOpen(
  app: JupyterFrontEnd,
  tracker: INotebookTracker,
  kernel: Kernel.IKernelConnection,
  comm: Kernel.IComm,
  msg: KernelMessage.ICommOpenMsg
): void {
  const data = msg.content.data as ReadonlyPartialJSONObject;
  if (data['type'] === 'hello') {
    comm.send({
      type: 'hello',
      protocol: PROTOCOL,
      frontend: 'jupyterlab',
      lab_version: app.version
    });
    comm.close();
    return;
  }
  if (data['type'] !== 'insert') {
    comm.close();
    return;
  }
  // One page, several connections to one kernel, or a hidden tab: handle each request once.
  if (handledComms.has(comm.commId) || document.visibilityState === 'hidden') {
    comm.dispose();
    return;
  }
  handledComms.add(comm.commId);
  // Do not block the kernel connection's message chain on the insertion.
  void handleInsert(app, tracker, kernel.id, comm, data);
}

/**
 * Register our comm target on a session's kernel, now and after every kernel change.
 * Every kernel connection of the page needs it (notebooks and consoles): a connection
 * without the target would close the kernel's comm before the notebook could answer.
 */
function watchSession(
  app: JupyterFrontEnd,
  tracker: INotebookTracker,
  sessionContext: ISessionContext
): void {
  const register = (): void => {
    const kernel = sessionContext.session?.kernel;
    if (!kernel || registered.has(kernel)) {
      return;
    }
    registered.add(kernel);
    kernel.registerCommTarget(COMM_TARGET, (comm, msg) =>
      onCommOpen(app, tracker, kernel, comm, msg)
    );
  };
  sessionContext.kernelChanged.connect(register);
  sessionContext.sessionChanged.connect(register);
  void sessionContext.ready.then(register);
  register();
}

export const bridgePlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-eo:bridge',
  description: 'Lets kernel code insert code cells below the cell showing a widget.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [IConsoleTracker],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    consoles: IConsoleTracker | null
  ) => {
    document.addEventListener(
      'pointerdown',
      event => {
        lastPointer = { target: event.target, time: Date.now() };
      },
      true
    );
    tracker.forEach(panel => watchSession(app, tracker, panel.sessionContext));
    tracker.widgetAdded.connect((_, panel) =>
      watchSession(app, tracker, panel.sessionContext)
    );
    if (consoles) {
      consoles.forEach(panel => watchSession(app, tracker, panel.sessionContext));
      consoles.widgetAdded.connect((_, panel) =>
        watchSession(app, tracker, panel.sessionContext)
      );
    }
  }
};
