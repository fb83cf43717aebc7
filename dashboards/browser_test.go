package dashboards_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/brooksdata/brooks/internal/testkit/testenv"
	"github.com/brooksdata/brooks/query"
)

func chromiumPath() string {
	if p := os.Getenv("BROOKS_CHROMIUM"); p != "" {
		return p
	}
	return "/usr/bin/chromium"
}

// tab is a headless Chromium tab that records console errors, uncaught
// exceptions and browser log errors (CSP violations, failed loads).
type tab struct {
	ctx  context.Context
	mu   sync.Mutex
	errs []string
}

func newTab(t *testing.T) *tab {
	t.Helper()
	if _, err := os.Stat(chromiumPath()); err != nil {
		t.Fatalf("no chromium at %s: run shadow/collector/browsertest/setup.sh once (it installs Debian's chromium)", chromiumPath())
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath()), chromedp.Headless, chromedp.NoSandbox, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.DisableGPU, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-extensions", true), chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-background-timer-throttling", true), chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() { cancel(); cancelAlloc() })
	tb := &tab{ctx: ctx}
	if err := chromedp.Listen(ctx, func(ev any) {
		tb.mu.Lock()
		defer tb.mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError {
				var parts []string
				for _, a := range ev.Args {
					parts = append(parts, string(a.Value)+a.Description)
				}
				tb.errs = append(tb.errs, "console.error: "+strings.Join(parts, " "))
			}
		case *runtime.EventExceptionThrown:
			tb.errs = append(tb.errs, fmt.Sprintf("exception: %s %s", ev.ExceptionDetails.Text, describe(ev.ExceptionDetails.Exception)))
		case *cdplog.EventEntryAdded:
			if ev.Entry.Level == cdplog.EntryLevelError {
				tb.errs = append(tb.errs, "log: "+ev.Entry.Text+" "+ev.Entry.URL)
			}
		}
	}); err != nil {
		t.Fatalf("start chromium %s: %v", chromiumPath(), err)
	}
	tb.run(t, "enable runtime and log events", call(runtime.Enable), call(cdplog.Enable))
	return tb
}

// noErrors fails the test when the page logged an error so far.
func (tb *tab) noErrors(t *testing.T, view string) {
	t.Helper()
	tb.mu.Lock()
	defer tb.mu.Unlock()
	if len(tb.errs) > 0 {
		t.Errorf("%s: the page logged errors: %s", view, strings.Join(tb.errs, "; "))
	}
	tb.errs = nil
}

func (tb *tab) run(t *testing.T, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 45*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.mu.Lock()
		errs := strings.Join(tb.errs, "; ")
		tb.mu.Unlock()
		loc, _ := chromedp.Run(tb.ctx, chromedp.Location())
		t.Fatalf("%s: %v (at %s; page errors: %s)", what, err, loc, errs)
	}
}

// value runs an action returning a value.
func value[T any](t *testing.T, tb *tab, what string, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 45*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// call runs a DevTools command without parameters or answer.
func call(c cdp.Command[cdp.Empty, cdp.Empty]) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, c, cdp.Empty{})
		return err
	})
}

func describe(o *runtime.RemoteObject) string {
	if o == nil {
		return ""
	}
	return o.Description
}

// screenshot saves the whole page under $BROOKS_STATE/screenshots/.
func (tb *tab) screenshot(t *testing.T, name string) {
	t.Helper()
	dir := os.Getenv("BROOKS_STATE")
	if dir == "" {
		dir = filepath.Join(testenv.RepoRoot(t), ".brooks")
	}
	dir = filepath.Join(dir, "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	png := value(t, tb, "screenshot "+name, chromedp.FullScreenshot(100))
	path := filepath.Join(dir, "dashboards-"+name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s", path)
}

// waitChart waits until the canvas id holds a drawn Chart.js chart.
func waitChart(id string) chromedp.Action[chromedp.Void] {
	return poll(fmt.Sprintf(`!!(window.brooksCharts && window.brooksCharts[%q])`, id))
}

func poll(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(30*time.Second))
}

func (st *stack) browserChecks(t *testing.T, mm seededMismatch) {
	tb := newTab(t)
	ctx := testenv.Context(t, 2*time.Minute)

	// No token: the sign-in page.
	tb.run(t, "open analytics signed out", chromedp.Navigate(st.dashURL+"/c/"+acme), chromedp.WaitVisible(`#token`))
	loc := value(t, tb, "location", chromedp.Location())
	if !strings.HasSuffix(loc, "/signin") {
		t.Errorf("signed out, /c/%s went to %s, want /signin", acme, loc)
	}
	tb.screenshot(t, "signin")
	tb.noErrors(t, "sign-in")

	// Sign in with acme's token (keyboard only).
	tb.run(t, "sign in", chromedp.SendKeys(`#token`, st.read[acme]+"\n"), chromedp.WaitVisible(`#realtime`), waitChart("realtime-chart"))
	loc = value(t, tb, "location", chromedp.Location())
	if !strings.HasSuffix(loc, "/c/"+acme) {
		t.Errorf("after sign-in at %s", loc)
	}
	cookie := value(t, tb, "read document.cookie", chromedp.Evaluate[string](`document.cookie`))
	if strings.Contains(cookie, "brooks_session") {
		t.Errorf("the session cookie is readable from script: %q", cookie)
	}
	// Every panel loads; the real-time chart is the proxy's answer.
	for _, id := range []string{"spark-0", "bd-referrer_category", "bd-referrer_domain", "bd-device"} {
		tb.run(t, "panel "+id, waitChart(id))
	}
	type chartState struct {
		Labels  int     `json:"labels"`
		Sum     float64 `json:"sum"`
		NonZero int     `json:"nonzero"`
		Legend  int     `json:"legend"`
	}
	got := value(t, tb, "read the real-time chart", chromedp.Evaluate[chartState](`(() => { const c = window.brooksCharts['realtime-chart'];
		const d = c.data.datasets[0].data; return {labels: c.data.labels.length, sum: d.reduce((a, b) => a + b, 0),
		nonzero: d.filter(v => v > 0).length, legend: c.legend.legendItems.length}; })()`))
	to := time.Now().UTC().Truncate(5 * time.Minute).Add(5 * time.Minute)
	a, err := query.NewClient(st.proxyURL, query.WithToken(st.read[acme])).Do(ctx, &query.Query{Customer: acme, Metrics: []string{"pageviews", "visitors"}, From: to.Add(-24 * time.Hour), To: to, Interval: "5m"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Labels != 288 || got.Sum != sumOf(a, "pageviews") || got.NonZero != len(a.Series[0].Points) || got.Legend != 4 {
		t.Errorf("real-time chart: %+v; proxy: %v page views in %d points (want 288 labels, 4 legend items)", got, sumOf(a, "pageviews"), len(a.Series[0].Points))
	}
	// The panel refreshes itself (Refresh is 2 s in the test): a new chart object.
	tb.run(t, "mark the chart", chromedp.Evaluate[chromedp.Void](`window.brooksCharts['realtime-chart'].$mark = 1; true`))
	tb.run(t, "wait for a refresh", poll(`window.brooksCharts['realtime-chart'] && !window.brooksCharts['realtime-chart'].$mark`))
	tb.screenshot(t, "analytics")
	tb.noErrors(t, "analytics")

	tb.run(t, "phone width", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile), chromedp.Reload(), waitChart("realtime-chart"), waitChart("bd-device"))
	tb.screenshot(t, "analytics-phone")
	tb.run(t, "laptop width", chromedp.EmulateViewport(1280, 900))
	tb.noErrors(t, "analytics (phone)")

	tb.run(t, "history", chromedp.Navigate(st.dashURL+"/c/"+acme+"/history"), waitChart("history-chart"))
	tb.screenshot(t, "history")
	tb.noErrors(t, "history")

	// A customer token opens neither another customer nor the console.
	for _, p := range []string{"/c/" + globex, "/console"} {
		tb.run(t, "open "+p, chromedp.Navigate(st.dashURL+p))
		text := value(t, tb, "text of "+p, chromedp.Text(`main`))
		if !strings.Contains(text, "403") {
			t.Errorf("customer token on %s: %q, want 403", p, text)
		}
	}
	tb.mu.Lock()
	tb.errs = nil // the 403 answers are logged as failed loads, rightly
	tb.mu.Unlock()

	// Globex is served by legacy: the campaign and device panels hide.
	tb.run(t, "sign out", chromedp.Navigate(st.dashURL+"/signin"))
	tb.run(t, "sign in as globex", chromedp.SendKeys(`#token`, st.read[globex]+"\n"), chromedp.WaitVisible(`#realtime`), waitChart("realtime-chart"), waitChart("bd-referrer_category"),
		poll(`document.getElementById('panel-campaign').hidden && document.getElementById('panel-device').hidden`))
	tb.screenshot(t, "analytics-legacy")
	tb.noErrors(t, "analytics (legacy)")

	// The operator console.
	tb.run(t, "sign in as admin", chromedp.Navigate(st.dashURL+"/signin"), chromedp.SendKeys(`#token`, st.admin+"\n"), chromedp.WaitVisible(`table.customers`))
	tb.screenshot(t, "console")
	tb.noErrors(t, "console")
	tb.run(t, "customer console", chromedp.Navigate(st.dashURL+"/console/customers/"+acme), chromedp.WaitVisible(`form.transition`))
	tb.screenshot(t, "console-customer")
	tb.noErrors(t, "console customer")
	href := value(t, tb, "diff link", chromedp.AttributeValue(`a[href^="/console/diff"]`, "href")).Value
	tb.run(t, "diff", chromedp.Navigate(st.dashURL+href), waitChart("diff-chart"))
	tb.screenshot(t, "diff")
	tb.noErrors(t, "diff")
	href = value(t, tb, "raw link", chromedp.AttributeValue(`tr.mismatch a`, "href")).Value
	tb.run(t, "raw drill-down", chromedp.Navigate(st.dashURL+href), chromedp.WaitVisible(`#raw-count`))
	count := value(t, tb, "raw count", chromedp.AttributeValue(`#raw-count`, "data-count")).Value
	if count != fmt.Sprint(int(mm.nextgen)) {
		t.Errorf("raw drill-down of the mismatched bucket: %s events, want the bucket's %v page views", count, mm.nextgen)
	}
	tb.screenshot(t, "raw")
	tb.noErrors(t, "raw")
	// The heat map: rows of the ledger's stages, cells with records.
	tb.run(t, "ledger", chromedp.Navigate(st.dashURL+"/console/ledger"), chromedp.WaitVisible(`table.heat`))
	heat := value(t, tb, "heat map cells", chromedp.Evaluate[heatState](`(() => ({rows: document.querySelectorAll('table.heat tbody tr th').length,
		recorded: document.querySelectorAll('table.heat td.cell:not(.none)').length, text: document.querySelector('main').innerText}))()`))
	if heat.Rows == 0 || heat.Recorded == 0 || strings.Contains(heat.Text, "not available") {
		t.Errorf("ledger heat map: %d rows, %d cells with records: %q", heat.Rows, heat.Recorded, heat.Text)
	}
	tb.screenshot(t, "ledger")
	tb.noErrors(t, "ledger")

	// The console with the admin APIs: states and acme's last audit.
	tb.run(t, "console with data", chromedp.Navigate(st.dashURL+"/console"), chromedp.WaitVisible(`table.customers`))
	text := value(t, tb, "console text", chromedp.Text(`main`))
	if strings.Contains(text, "not available") || !strings.Contains(text, st.cert.Day+" clean · sha256 "+st.cert.Digest[:12]) {
		t.Errorf("console: want no empty state and acme's certificate %s %s: %q", st.cert.Day, st.cert.Digest[:12], text)
	}
	tb.screenshot(t, "console-data")
	tb.noErrors(t, "console with data")

	// Advance globex twice in the browser: legacy to shadow (its gate
	// passes), then shadow to live forced past the failing gates. The
	// confirm dialog is answered yes and its text kept to check.
	st.advance(t, tb, globex, "browser: nextgen has globex's data", false, "shadow")
	st.advance(t, tb, globex, "browser: forced past the failing gates", true, "live")
	hist := value(t, tb, "history", chromedp.Text(`main table`))
	if !strings.Contains(hist, "browser: forced past the failing gates") || !strings.Contains(hist, "(forced)") || !strings.Contains(hist, "browser: nextgen has globex's data") {
		t.Errorf("history: %q, want both reasons and the forced mark", hist)
	}
	tb.screenshot(t, "console-forced")
	tb.noErrors(t, "console forced advance")
}

type heatState struct {
	Rows     int    `json:"rows"`
	Recorded int    `json:"recorded"`
	Text     string `json:"text"`
}

// advance submits customer's advance form with reason (ticking force)
// and waits for the page to show state want and the reason.
func (st *stack) advance(t *testing.T, tb *tab, customer, reason string, force bool, want string) {
	t.Helper()
	tb.run(t, "open "+customer, chromedp.Navigate(st.dashURL+"/console/customers/"+customer), chromedp.WaitVisible(`#reason-advance`),
		chromedp.Evaluate[chromedp.Void](`window.confirm = m => { sessionStorage.setItem('confirmed', m); return true; }; true`))
	hasForce := value(t, tb, "force checkbox", chromedp.Evaluate[bool](`!!document.getElementById('force-advance')`))
	if hasForce != force {
		t.Fatalf("%s: force checkbox shown %v, want %v (the gates %s)", customer, hasForce, force, map[bool]string{true: "fail", false: "pass"}[force])
	}
	actions := []chromedp.Action[chromedp.Void]{chromedp.SendKeys(`#reason-advance`, reason)}
	if force {
		actions = append(actions, chromedp.Click(`#force-advance`))
	}
	actions = append(actions, chromedp.Evaluate[chromedp.Void](`document.querySelector('form.transition button[type=submit]').click(); true`))
	tb.run(t, "advance "+customer+" to "+want, actions...)
	// The form posts and the page navigates to the customer's page again.
	tb.run(t, "wait for "+customer+" in "+want, chromedp.WaitVisible(`.state-info`),
		poll(fmt.Sprintf(`document.getElementById('cutover-state') && document.getElementById('cutover-state').textContent === %q`, want)))
	asked := value(t, tb, "confirm text", chromedp.Evaluate[string](`sessionStorage.getItem('confirmed') || ''`))
	if !strings.Contains(asked, "Advance "+customer) || !strings.Contains(asked, reason) {
		t.Errorf("the confirm dialog asked %q, want the customer and the reason", asked)
	}
	msg := value(t, tb, "status", chromedp.Text(`.state-info`))
	if !strings.Contains(msg, "advance recorded: "+reason+" (now "+want+")") {
		t.Errorf("after the advance: %q", msg)
	}
}
