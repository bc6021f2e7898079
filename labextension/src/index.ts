/**
 * Entry point of the jupyter-eo labextension: the list of its plugins.
 */
import { JupyterFrontEndPlugin } from '@jupyterlab/application';

import { bridgePlugin } from './bridge';
import { insertPlugin } from './insert';
import { plazaPlugin } from './plaza';
import { sidebarPlugin } from './sidebar';

/** All plugins of the extension; add new ones (e.g. the sidebar from './sidebar') here. */
const plugins: JupyterFrontEndPlugin<any>[] = [
  insertPlugin,
  bridgePlugin,
  sidebarPlugin,
  plazaPlugin
];

export default plugins;
