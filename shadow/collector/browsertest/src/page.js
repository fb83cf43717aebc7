// The test page's script: the real Snowplow browser tracker, configured the
// way a customer's site would, sending to the collector under test. The Go
// test (browser_test.go) reads window.brooks to know exactly which events the
// tracker made and which requests the collector acknowledged.
import {
  newTracker,
  enableActivityTracking,
  trackPageView,
} from '@snowplow/browser-tracker';

const cfg = window.brooksConfig; // set by the page the Go test serves

const state = {
  tracked: [], // payload of every event the tracker built, in order
  sent: [], // eids of every event in a request the collector answered 2xx
  failed: [], // {status, message, eids} of every failed request
  error: null,
};
window.brooks = state;

function snapshot(payload) {
  const out = {};
  for (const [k, v] of Object.entries(payload)) {
    out[k] = typeof v === 'string' ? v : JSON.stringify(v);
  }
  return out;
}

try {
  newTracker('sp', cfg.collector, {
    appId: cfg.appId,
    eventMethod: 'post',
    bufferSize: 1,
    stateStorageStrategy: 'cookieAndLocalStorage',
    contexts: { webPage: true, session: false, browser: false },
    plugins: [
      {
        afterTrack: (payload) => {
          state.tracked.push(snapshot(payload));
        },
      },
    ],
    onRequestSuccess: (batch) => {
      const events = batch.map((r) => r.payload || r);
      for (const p of events) state.sent.push(p.eid);
    },
    onRequestFailure: (failure, response) => {
      state.failed.push({
        status: failure.status,
        message: failure.message || '',
        willRetry: failure.willRetry,
        eids: (failure.events || []).map((r) => (r.payload || r).eid),
      });
    },
  });
  enableActivityTracking({
    minimumVisitLength: cfg.minimumVisitLength,
    heartbeatDelay: cfg.heartbeatDelay,
  });
  trackPageView();
} catch (e) {
  state.error = String((e && e.stack) || e);
}
