/// <reference lib="dom" />
// Panel entry: shows the login until there is a session, then the dashboard; back to the login
// whenever the API answers 401.
import 'uplot/dist/uPlot.min.css';
import './styles.css';
import { ApiClient } from './api-client.js';
import { Dashboard } from './dashboard.js';
import { loginView } from './login-view.js';

const root = document.getElementById('app') ?? document.body;
const client = new ApiClient();
let dashboard: Dashboard | null = null;

function showLogin(message?: string): void {
  dashboard?.stop();
  dashboard = null;
  root.replaceChildren(loginView(client, showDashboard, message));
}

function showDashboard(): void {
  dashboard?.stop();
  dashboard = new Dashboard(client, () => showLogin());
  root.replaceChildren(dashboard.el);
  dashboard.start();
}

client.onUnauthorized = () => {
  if (dashboard) showLogin('Your session ended; log in again.');
};

client.resume().then(
  (session) => (session ? showDashboard() : showLogin()),
  () => showLogin(),
);
