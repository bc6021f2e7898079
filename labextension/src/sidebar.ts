/**
 * The openEO backends sidebar: configured and user-added backends, their login state, log in /
 * log out, the OIDC device-code prompt, add / remove own backends. Talks only to
 * `{base_url}jupyter-eo/api/...` (no tokens ever reach the browser). Every error the server
 * returns stays visible on its backend's row until the next attempt.
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ServerConnection } from '@jupyterlab/services';
import { LabIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { IDiscovered, renderAddBackend } from './addBackend';

/** Public view of one backend plus the user's login state (see jupyter_eo/server/login.py). */
export interface IBackendView {
  id: string;
  title: string;
  auth: 'none' | 'basic' | 'oidc' | 'client_credentials';
  local: boolean;
  user?: boolean;
  url?: string;
  state: 'ready' | 'logged_out' | 'pending' | 'error';
  error?: string;
  proxy_path: string;
  device?: {
    verification_uri: string;
    verification_uri_complete: string;
    user_code: string;
    expires_in: number;
  };
}

const GLOBE_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
<g class="jp-icon3" stroke="#616161" stroke-width="1.6">
<circle cx="12" cy="12" r="9" fill="none"/><ellipse cx="12" cy="12" rx="4" ry="9" fill="none"/>
<path d="M3.5 9h17M3.5 15h17" fill="none"/></g></svg>`;

export const globeIcon = new LabIcon({ name: 'jupyter-eo:globe', svgstr: GLOBE_SVG });

const STATE_LABEL: Record<IBackendView['state'], string> = {
  ready: 'ready',
  logged_out: 'not logged in',
  pending: 'waiting for login…',
  error: 'error'
};

const STATE_COLOR: Record<IBackendView['state'], string> = {
  ready: 'var(--jp-success-color1, #388e3c)',
  logged_out: 'var(--jp-ui-font-color2, #757575)',
  pending: 'var(--jp-warn-color1, #f57c00)',
  error: 'var(--jp-error-color1, #d32f2f)'
};

/** Small typed wrapper around the server API. */
export class BackendsApi {
  constructor(private settings = ServerConnection.makeSettings()) {}

  private async call(path: string, init: RequestInit = {}): Promise<any> {
    const url = `${this.settings.baseUrl}jupyter-eo/api/${path}`;
    const response = await ServerConnection.makeRequest(url, init, this.settings);
    const text = await response.text();
    let body: any = {};
    try {
      body = text ? JSON.parse(text) : {};
    } catch {
      body = {};
    }
    if (!response.ok) {
      throw new Error(body.message || `HTTP ${response.status} ${response.statusText}`);
    }
    return body;
  }

  async list(): Promise<IBackendView[]> {
    return (await this.listAll()).backends;
  }

  async listAll(): Promise<{
    backends: IBackendView[];
    allow_user_backends: boolean;
  }> {
    const body = await this.call('backends');
    return {
      backends: body.backends as IBackendView[],
      allow_user_backends: !!body.allow_user_backends
    };
  }

  async discover(url: string): Promise<IDiscovered> {
    return this.call('discover', {
      method: 'POST',
      body: JSON.stringify({ url })
    });
  }

  async add(body: object): Promise<IBackendView> {
    return this.call('backends', {
      method: 'POST',
      body: JSON.stringify(body)
    });
  }

  async remove(id: string): Promise<void> {
    await this.call(`backends/${encodeURIComponent(id)}`, { method: 'DELETE' });
  }

  async state(id: string): Promise<IBackendView> {
    return this.call(`backends/${encodeURIComponent(id)}/login`);
  }

  async login(id: string, body: object = {}): Promise<IBackendView> {
    return this.call(`backends/${encodeURIComponent(id)}/login`, {
      method: 'POST',
      body: JSON.stringify(body)
    });
  }

  async logout(id: string): Promise<IBackendView> {
    return this.call(`backends/${encodeURIComponent(id)}/login`, {
      method: 'DELETE'
    });
  }
}

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<Record<string, string>> = {},
  text = ''
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value !== undefined) {
      node.setAttribute(key, value);
    }
  }
  if (text) {
    node.textContent = text;
  }
  return node;
}

/** The sidebar panel. */
export class BackendsPanel extends Widget {
  private api: BackendsApi;
  private list: HTMLElement;
  private message: HTMLElement;
  private addBox: HTMLElement;
  private pollTimer: number | null = null;
  private openForms = new Set<string>();
  /** Open login forms by backend id: kept across refreshes, so what is typed is never lost. */
  private forms = new Map<string, HTMLFormElement>();
  /** The last failed action's message per backend (kept across refreshes). */
  private errors = new Map<string, string>();

  constructor(api = new BackendsApi()) {
    super();
    this.api = api;
    this.id = 'jupyter-eo-backends';
    this.addClass('jp-eo-Sidebar');
    this.title.icon = globeIcon;
    this.title.caption = 'openEO backends';
    const style = this.node.style;
    style.overflowY = 'auto';
    style.padding = '8px';
    style.background = 'var(--jp-layout-color1)';
    style.color = 'var(--jp-ui-font-color1)';
    style.fontSize = 'var(--jp-ui-font-size1)';
    const header = el('div', { class: 'jp-eo-Sidebar-header' });
    header.style.display = 'flex';
    header.style.justifyContent = 'space-between';
    header.style.alignItems = 'center';
    header.appendChild(el('h3', {}, 'openEO backends')).style.margin = '0 0 8px 0';
    const refresh = el('button', { class: 'jp-mod-styled jp-eo-refresh', title: 'Refresh' }, '↻');
    refresh.onclick = () => void this.refresh();
    header.appendChild(refresh);
    this.node.appendChild(header);
    this.message = el('div', { class: 'jp-eo-Sidebar-message' });
    this.message.style.color = STATE_COLOR.error;
    this.node.appendChild(this.message);
    this.list = el('div', { class: 'jp-eo-Sidebar-list' });
    this.node.appendChild(this.list);
    // built once, so a refresh (e.g. polling a device login) never clears what is typed
    this.addBox = renderAddBackend(this.api, () => this.refresh());
    this.addBox.style.display = 'none';
    this.node.appendChild(this.addBox);
  }

  protected onAfterShow(): void {
    void this.refresh();
  }

  protected onAfterAttach(): void {
    void this.refresh();
  }

  dispose(): void {
    this.stopPolling();
    super.dispose();
  }

  /** Reload the list from the server. */
  async refresh(): Promise<void> {
    try {
      const { backends, allow_user_backends } = await this.api.listAll();
      this.message.textContent = '';
      this.addBox.style.display = allow_user_backends ? '' : 'none';
      this.render(backends);
      const pending = backends.some(b => b.state === 'pending');
      if (pending) {
        this.startPolling();
      } else {
        this.stopPolling();
      }
    } catch (err) {
      this.message.textContent = `Could not load backends: ${(err as Error).message}`;
    }
  }

  private startPolling(): void {
    if (this.pollTimer === null) {
      this.pollTimer = window.setInterval(() => void this.refresh(), 2000);
    }
  }

  private stopPolling(): void {
    if (this.pollTimer !== null) {
      window.clearInterval(this.pollTimer);
      this.pollTimer = null;
    }
  }

  private render(backends: IBackendView[]): void {
    // a refresh rebuilds the rows but moves open forms over as they are (typed text, focus
    // and caret included)
    const active = document.activeElement;
    const focused =
      active instanceof HTMLInputElement && this.list.contains(active) ? active : null;
    const caret = focused ? [focused.selectionStart, focused.selectionEnd] : null;
    this.list.textContent = '';
    for (const backend of backends) {
      this.list.appendChild(this.renderBackend(backend));
    }
    for (const id of [...this.forms.keys()]) {
      if (!this.forms.get(id)!.isConnected) {
        this.forms.delete(id);
      }
    }
    if (focused && focused.isConnected) {
      focused.focus();
      if (caret && caret[0] !== null && caret[1] !== null) {
        focused.setSelectionRange(caret[0], caret[1]);
      }
    }
  }

  private renderBackend(b: IBackendView): HTMLElement {
    const row = el('div', {
      class: 'jp-eo-Backend',
      'data-backend-id': b.id,
      'data-state': b.state
    });
    row.style.borderBottom = '1px solid var(--jp-border-color2)';
    row.style.padding = '6px 0';
    const title = el('div', { class: 'jp-eo-Backend-title' }, b.title);
    title.style.fontWeight = '600';
    row.appendChild(title);
    const meta = el('div', { class: 'jp-eo-Backend-meta' });
    meta.style.color = 'var(--jp-ui-font-color2)';
    meta.textContent = `${b.id} · ${b.local ? 'embedded' : b.url || ''}`;
    row.appendChild(meta);
    const state = el('div', { class: 'jp-eo-Backend-state' }, STATE_LABEL[b.state]);
    state.style.color = STATE_COLOR[b.state];
    row.appendChild(state);
    const error = this.errors.get(b.id) || b.error;
    if (error) {
      const node = row.appendChild(el('div', { class: 'jp-eo-Backend-error', role: 'alert' }, error));
      node.style.color = STATE_COLOR.error;
      node.style.whiteSpace = 'pre-wrap';
    }
    if (b.state === 'pending' && b.device) {
      row.appendChild(this.renderDevice(b));
    }
    const actions = el('div', { class: 'jp-eo-Backend-actions' });
    actions.style.marginTop = '4px';
    row.appendChild(actions);
    const canLogout = b.auth === 'basic' || b.auth === 'oidc';
    if (!b.local && canLogout && b.state !== 'ready' && b.state !== 'pending') {
      const login = el('button', { class: 'jp-mod-styled jp-mod-accept jp-eo-login' }, 'Log in');
      login.onclick = () => {
        if (b.auth === 'basic') {
          this.openForms.add(b.id);
          row.replaceWith(this.renderBackend(b));
        } else {
          void this.act(b.id, () => this.api.login(b.id));
        }
      };
      actions.appendChild(login);
    }
    if (!b.local && canLogout && (b.state === 'ready' || b.state === 'pending')) {
      const label = b.state === 'pending' ? 'Cancel' : 'Log out';
      const logout = el('button', { class: 'jp-mod-styled jp-eo-logout' }, label);
      logout.onclick = () => void this.act(b.id, () => this.api.logout(b.id));
      actions.appendChild(logout);
    }
    if (b.user) {
      const remove = el('button', { class: 'jp-mod-styled jp-eo-remove', title: 'Remove this backend' }, 'Remove');
      remove.onclick = () =>
        void this.act(b.id, async () => {
          await this.api.remove(b.id);
          this.errors.delete(b.id);
        });
      actions.appendChild(remove);
    }
    if (b.auth === 'basic' && !b.local && this.openForms.has(b.id) && b.state !== 'ready') {
      let form = this.forms.get(b.id);
      if (!form) {
        form = this.renderBasicForm(b);
        this.forms.set(b.id, form);
      }
      row.appendChild(form);
    }
    return row;
  }

  private renderDevice(b: IBackendView): HTMLElement {
    const device = b.device!;
    const box = el('div', { class: 'jp-eo-Device' });
    box.style.margin = '4px 0';
    box.appendChild(el('div', {}, 'Open this page and enter the code:'));
    const candidate = device.verification_uri_complete || device.verification_uri;
    // only web links: never let a provider put e.g. a javascript: URL into the page
    const href = /^https?:\/\//i.test(candidate) ? candidate : undefined;
    const link = el(
      'a',
      { href, target: '_blank', rel: 'noopener noreferrer', class: 'jp-eo-Device-link' },
      device.verification_uri
    );
    link.style.color = 'var(--jp-content-link-color)';
    box.appendChild(link);
    const code = el('div', { class: 'jp-eo-Device-code' }, device.user_code);
    code.style.fontFamily = 'var(--jp-code-font-family)';
    code.style.fontSize = '1.4em';
    code.style.letterSpacing = '0.1em';
    box.appendChild(code);
    return box;
  }

  private renderBasicForm(b: IBackendView): HTMLFormElement {
    const form = el('form', { class: 'jp-eo-BasicForm' }) as HTMLFormElement;
    const user = el('input', {
      type: 'text',
      name: 'username',
      placeholder: 'user name',
      autocomplete: 'username',
      class: 'jp-mod-styled'
    });
    const password = el('input', {
      type: 'password',
      name: 'password',
      placeholder: 'password',
      autocomplete: 'current-password',
      class: 'jp-mod-styled'
    });
    const submit = el('button', { type: 'submit', class: 'jp-mod-styled jp-mod-accept' }, 'Log in');
    for (const node of [user, password, submit]) {
      node.style.display = 'block';
      node.style.margin = '4px 0';
      form.appendChild(node);
    }
    form.onsubmit = event => {
      event.preventDefault();
      const body = { username: user.value, password: password.value };
      password.value = '';
      this.openForms.delete(b.id);
      this.forms.delete(b.id);
      void this.act(b.id, () => this.api.login(b.id, body));
    };
    return form;
  }

  private async act(id: string, action: () => Promise<unknown>): Promise<void> {
    try {
      await action();
      this.errors.delete(id);
    } catch (err) {
      this.errors.set(id, (err as Error).message);
    }
    await this.refresh();
  }
}

/** Adds the backends panel to the left sidebar. */
export const sidebarPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-eo:sidebar',
  description: 'openEO backends with login state, log in / log out per backend.',
  autoStart: true,
  activate: (app: JupyterFrontEnd) => {
    const panel = new BackendsPanel();
    app.shell.add(panel, 'left', { rank: 850 });
  }
};
