/**
 * The sidebar's "Add a backend" form: URL -> discovered title, API version, auth methods and
 * OIDC providers (POST jupyter-eo/api/discover), then save it for this user
 * (POST jupyter-eo/api/backends). Errors from the server are shown in the form.
 */

/** What the server discovered behind a URL (see jupyter_eo/server/discovery.py). */
export interface IDiscovered {
  url: string;
  api_root: string;
  api_version: string;
  versions: { url: string; api_version: string; production: boolean }[];
  title: string;
  description: string;
  auth_methods: string[];
  oidc_providers: {
    id: string;
    title: string;
    issuer: string;
    device_flow: boolean;
  }[];
}

/** The calls the form needs (implemented by BackendsApi in sidebar.ts). */
export interface IAddBackendApi {
  discover(url: string): Promise<IDiscovered>;
  add(body: object): Promise<unknown>;
}

function make<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  cls: string,
  text = ''
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (cls) {
    node.className = cls;
  }
  if (text) {
    node.textContent = text;
  }
  return node;
}

/** Builds the form; `onAdded` is called after a backend was saved. */
export function renderAddBackend(
  api: IAddBackendApi,
  onAdded: () => Promise<void>
): HTMLElement {
  const box = make('div', 'jp-eo-AddBackend');
  box.style.marginTop = '10px';
  box.appendChild(make('div', 'jp-eo-AddBackend-heading', 'Add a backend')).style.fontWeight =
    '600';
  const form = make('form', 'jp-eo-AddBackend-form');
  const url = make('input', 'jp-mod-styled jp-eo-AddBackend-url');
  url.type = 'url';
  url.name = 'url';
  url.placeholder = 'https://openeo.example.org';
  url.required = true;
  url.style.width = '100%';
  url.style.boxSizing = 'border-box';
  const check = make('button', 'jp-mod-styled jp-eo-AddBackend-check', 'Check');
  check.type = 'submit';
  form.append(url, check);
  const details = make('div', 'jp-eo-AddBackend-details');
  const error = make('div', 'jp-eo-AddBackend-error');
  error.style.color = 'var(--jp-error-color1, #d32f2f)';
  error.style.whiteSpace = 'pre-wrap';
  box.append(form, error, details);

  form.onsubmit = async event => {
    event.preventDefault();
    error.textContent = '';
    details.textContent = '';
    check.disabled = true;
    details.textContent = 'Looking for an openEO API…';
    try {
      const info = await api.discover(url.value.trim());
      details.textContent = '';
      details.appendChild(renderDiscovered(info, api, error, onAdded));
    } catch (err) {
      details.textContent = '';
      error.textContent = (err as Error).message;
    } finally {
      check.disabled = false;
    }
  };
  return box;
}

function renderDiscovered(
  info: IDiscovered,
  api: IAddBackendApi,
  error: HTMLElement,
  onAdded: () => Promise<void>
): HTMLElement {
  const box = make('div', 'jp-eo-AddBackend-found');
  box.style.margin = '4px 0';
  const title = make('div', 'jp-eo-AddBackend-title', info.title || info.url);
  title.style.fontWeight = '600';
  box.appendChild(title);
  box.appendChild(
    make(
      'div',
      'jp-eo-AddBackend-version',
      `openEO API ${info.api_version} at ${info.api_root}`
    )
  );
  if (info.versions.length > 1) {
    const all = info.versions
      .map(v => `${v.api_version}${v.production ? '' : ' (not production)'}`)
      .join(', ');
    box.appendChild(make('div', 'jp-eo-AddBackend-versions', `Versions: ${all}`));
  }
  const auth = make('select', 'jp-mod-styled jp-eo-AddBackend-auth');
  const methods = [...info.auth_methods, 'none'];
  for (const method of methods) {
    const option = make('option', '', method === 'none' ? 'no login' : method);
    option.value = method;
    auth.appendChild(option);
  }
  box.appendChild(make('label', '', 'Login: ')).appendChild(auth);
  const provider = make('select', 'jp-mod-styled jp-eo-AddBackend-provider');
  for (const p of info.oidc_providers) {
    const option = make(
      'option',
      '',
      `${p.title || p.id}${p.device_flow ? '' : ' (no device login)'}`
    );
    option.value = p.id;
    provider.appendChild(option);
  }
  const providerRow = make('label', 'jp-eo-AddBackend-providerRow', 'Provider: ');
  providerRow.appendChild(provider);
  providerRow.style.display = 'block';
  box.appendChild(providerRow);
  const syncProvider = () => {
    providerRow.style.display =
      auth.value === 'oidc' && info.oidc_providers.length ? 'block' : 'none';
  };
  auth.onchange = syncProvider;
  syncProvider();
  const add = make('button', 'jp-mod-styled jp-mod-accept jp-eo-AddBackend-add', 'Add');
  add.style.display = 'block';
  add.style.marginTop = '4px';
  add.onclick = async () => {
    error.textContent = '';
    add.disabled = true;
    const body: Record<string, string> = { url: info.url, auth: auth.value };
    if (auth.value === 'oidc' && provider.value) {
      body.oidc_provider_id = provider.value;
    }
    try {
      await api.add(body);
      box.remove();
      await onAdded();
    } catch (err) {
      error.textContent = (err as Error).message;
    } finally {
      add.disabled = false;
    }
  };
  box.appendChild(add);
  return box;
}
