// cxh-join single sign-on (Manifest V3 service worker).
//
// Seed 003 "Browser SSO": the browser's requests to the authority carry the device's PRT SSO
// cookie (x-ms-RefreshTokenCredential), so the user is signed in to the organization's web apps
// without a prompt and conditional access sees the joined device. The cookie comes from the
// cxh-join token broker through the native messaging host `com.cxh_join.sso` (registered by
// `host-bridge sso-install`), and is attached to every request to the joined authority's
// origin by a declarativeNetRequest *session* rule (kept in memory, never in the profile).
//
// The cookie is signed over a nonce of the authority that lives a few minutes: it is refreshed
// on start and every REFRESH_MINUTES, and at once when the authority answers with a fresh
// `sso_nonce` (its answer to a stale cookie), using that nonce.

const HOST = 'com.cxh_join.sso';
const RULE_ID = 1;
const REFRESH_MINUTES = 3;
let lastNonce = null;

function askHost(message) {
  return new Promise((resolve) => {
    chrome.runtime.sendNativeMessage(HOST, message, (answer) => {
      const failure = chrome.runtime.lastError;
      resolve(failure ? { error: { context: failure.message } } : answer);
    });
  });
}

async function setState(state) {
  await chrome.storage.session.set({ state: { ...state, at: Date.now() } });
}

/** Get a new cookie (over `ssoUrl`'s sso_nonce when given) and attach it to the authority. */
async function refresh(ssoUrl) {
  const answer = await askHost({ command: 'acquirePrtSsoCookie', ssoUrl: ssoUrl ?? null });
  if (!answer || answer.error || !answer.cookieContent || !answer.authority) {
    await chrome.declarativeNetRequest.updateSessionRules({ removeRuleIds: [RULE_ID] });
    await setState({ ok: false, error: answer?.error?.context ?? 'no answer from the native host' });
    return false;
  }
  const origin = new URL(answer.authority).origin;
  await chrome.declarativeNetRequest.updateSessionRules({
    removeRuleIds: [RULE_ID],
    addRules: [{
      id: RULE_ID,
      priority: 1,
      action: {
        type: 'modifyHeaders',
        requestHeaders: [{ header: answer.cookieName, operation: 'set', value: answer.cookieContent }],
      },
      condition: { urlFilter: `|${origin}/`, resourceTypes: ['main_frame', 'sub_frame', 'xmlhttprequest'] },
    }],
  });
  await setState({ ok: true, authority: origin, account: answer.account?.username ?? null });
  return true;
}

/** The authority asked for a cookie over a new nonce: sign one before the browser comes back. */
function onNonce(url) {
  let nonce = null;
  try { nonce = new URL(url).searchParams.get('sso_nonce'); } catch { return; }
  if (nonce && nonce !== lastNonce) {
    lastNonce = nonce;
    refresh(url);
  }
}

// The cloud's authorities, and a local one (the tenant emulator) over HTTPS or loopback http.
const AUTHORITY_URLS = [
  'https://login.microsoftonline.com/*', 'https://login.windows.net/*',
  'https://127.0.0.1/*', 'https://localhost/*', 'http://127.0.0.1/*', 'http://localhost/*',
];
chrome.webRequest.onBeforeRedirect.addListener((d) => onNonce(d.redirectUrl), { urls: AUTHORITY_URLS });
chrome.webRequest.onBeforeRequest.addListener((d) => onNonce(d.url), { urls: AUTHORITY_URLS, types: ['main_frame', 'sub_frame'] });

chrome.alarms.create('refresh', { periodInMinutes: REFRESH_MINUTES });
chrome.alarms.onAlarm.addListener((alarm) => { if (alarm.name === 'refresh') refresh(); });
chrome.runtime.onStartup.addListener(() => refresh());
chrome.runtime.onInstalled.addListener(() => refresh());

// For people and tests: the last outcome, and a way to refresh now.
globalThis.cxhSso = {
  refresh,
  state: async () => (await chrome.storage.session.get('state')).state ?? null,
};
refresh();
