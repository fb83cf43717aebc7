// Package browsertest runs the real Snowplow JavaScript browser tracker in
// headless Chromium against a real collector writing to the real Kafka, and
// checks that exactly the events the tracker made are in the topic and in
// the raw-log archive.
//
// It needs Debian's chromium and the bundled tracker page; both come from
// setup.sh in this folder (`make test` runs it first):
//
//	shadow/collector/browsertest/setup.sh
//	go test ./shadow/collector/browsertest
package browsertest_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/brooksdata/brooks/audit/archive"
	"github.com/brooksdata/brooks/internal/testkit/stacktest"
	"github.com/brooksdata/brooks/internal/testkit/testenv"
	"github.com/brooksdata/brooks/pixel"
	"github.com/brooksdata/brooks/shadow/collector"
)

const (
	bundlePath = "dist/tracker-page.js"
	stampPath  = "dist/.stamp"
	setupHint  = "run shadow/collector/browsertest/setup.sh (installs Debian chromium and builds the tracker bundle)"

	appID = "acme.example"
	// Activity tracking of the page, in seconds: the first ping after
	// minimumVisitLength, then one per heartbeatDelay while the user is
	// active.
	minimumVisitLength = 1
	heartbeatDelay     = 1
	// The test keeps the mouse moving until the tracker made this many
	// page pings.
	activePings = 3
)

// chromiumPath is Debian's chromium, or $BROOKS_CHROMIUM.
func chromiumPath() string {
	if p := os.Getenv("BROOKS_CHROMIUM"); p != "" {
		return p
	}
	return "/usr/bin/chromium"
}

// sourceStamp hashes what the bundle is built from, exactly as setup.sh
// does: package.json, package-lock.json, then every file under src/ in
// byte order of path.
func sourceStamp() (string, error) {
	files := []string{"package.json", "package-lock.json"}
	var src []string
	err := filepath.WalkDir("src", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			src = append(src, p)
		}
		return err
	})
	if err != nil {
		return "", err
	}
	slices.Sort(src)
	h := sha256.New()
	for _, f := range append(files, src...) {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// requireTools fails the test (never skips it) when chromium or a current
// bundle is missing, and says how to get them.
func requireTools(t *testing.T) []byte {
	t.Helper()
	if _, err := os.Stat(chromiumPath()); err != nil {
		t.Fatalf("chromium is not installed at %s (%v): %s", chromiumPath(), err, setupHint)
	}
	bundle, err := os.ReadFile(bundlePath)
	if err != nil {
		t.Fatalf("the tracker bundle is missing (%v): %s", err, setupHint)
	}
	want, err := sourceStamp()
	if err != nil {
		t.Fatalf("hash the bundle's sources: %v", err)
	}
	got, _ := os.ReadFile(stampPath)
	if strings.TrimSpace(string(got)) != want {
		t.Fatalf("the tracker bundle is stale (built from other sources than package-lock.json and src/ now hold): %s", setupHint)
	}
	return bundle
}

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Browser test post</title>
<script>window.brooksConfig = {{.}};</script>
<script src="/tracker-page.js"></script>
</head>
<body style="margin:0"><div style="width:100vw;height:100vh">A post about nothing.</div></body></html>
`))

type pageConfig struct {
	Collector          string `json:"collector"`
	AppID              string `json:"appId"`
	MinimumVisitLength int    `json:"minimumVisitLength"`
	HeartbeatDelay     int    `json:"heartbeatDelay"`
}

// servePage serves the test page and the bundle on its own loopback port: a
// different origin from the collector's, so the tracker's POSTs are
// cross-origin with credentials and need the collector's CORS answers.
func servePage(t *testing.T, bundle []byte, cfg pageConfig) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/tracker-page.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Write(bundle)
	})
	mux.HandleFunc("/post/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if err := pageTmpl.Execute(w, cfg); err != nil {
			t.Errorf("page: %v", err)
		}
	})
	mux.HandleFunc("/favicon.ico", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

// pageState is window.brooks, kept by src/page.js.
type pageState struct {
	Tracked []map[string]string `json:"tracked"`
	Sent    []string            `json:"sent"`
	Failed  []json.RawMessage   `json:"failed"`
	Error   *string             `json:"error"`
}

func (s pageState) count(typ string) int {
	n := 0
	for _, p := range s.Tracked {
		if p["e"] == typ {
			n++
		}
	}
	return n
}

// collectorRequest is one request the page sent to the collector, seen
// through the DevTools protocol.
type collectorRequest struct {
	Method, URL string
	Body        []byte
	Status      int64
}

// browser starts headless Chromium with a fresh profile, as the machine
// notes prescribe, and returns a tab context.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath()),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-breakpad", true),
		// Timers of a headless tab must fire on time: the tracker's
		// heartbeat is a setInterval.
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.WindowSize(1000, 700),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() { cancel(); cancelAlloc() })
	return ctx
}

func TestBrowserTrackerEventsReachKafkaAndArchive(t *testing.T) {
	bundle := requireTools(t)
	start := time.Now()
	p := stacktest.Start(t)
	arch := startArchiver(t, p.Cfg.KafkaBrokers, p.Cfg.Topic)
	page := servePage(t, bundle, pageConfig{
		Collector:          p.URL,
		AppID:              appID,
		MinimumVisitLength: minimumVisitLength,
		HeartbeatDelay:     heartbeatDelay,
	})
	pageURL := page + "/post/hello-browser"

	ctx := browser(t)
	// Watch the requests the page sends to the collector.
	var mu sync.Mutex
	reqs := map[network.RequestID]*collectorRequest{}
	var order []network.RequestID
	blockedCookies := map[string]bool{} // "name [reasons]" of the cookies Chromium refused to store
	if err := chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			if !strings.HasPrefix(ev.Request.URL, p.URL) {
				return
			}
			r := &collectorRequest{Method: ev.Request.Method, URL: ev.Request.URL}
			for _, e := range ev.Request.PostDataEntries {
				r.Body = append(r.Body, e.Bytes...)
			}
			reqs[ev.RequestID] = r
			order = append(order, ev.RequestID)
		case *network.EventResponseReceived:
			if r := reqs[ev.RequestID]; r != nil {
				r.Status = ev.Response.Status
			}
		case *network.EventResponseReceivedExtraInfo:
			for _, b := range ev.BlockedCookies {
				name, _, _ := strings.Cut(b.CookieLine, "=")
				blockedCookies[fmt.Sprintf("%s %v", name, b.BlockedReasons)] = true
			}
		}
	}); err != nil {
		t.Fatalf("start chromium %s: %v (%s)", chromiumPath(), err, setupHint)
	}
	if err := chromedp.Do(ctx,
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, network.Enable, network.EnableParams{})
			return err
		}),
		chromedp.Navigate(pageURL),
	); err != nil {
		t.Fatalf("load %s in chromium: %v", pageURL, err)
	}
	state := func() pageState {
		t.Helper()
		raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](`window.brooks`))
		if err != nil {
			t.Fatalf("read window.brooks: %v", err)
		}
		var s pageState
		if string(raw) == "null" {
			t.Fatalf("window.brooks is not set: %s did not run in the page", bundlePath)
		}
		if err := json.Unmarshal(raw, &s); err != nil {
			t.Fatalf("window.brooks %s: %v", raw, err)
		}
		if s.Error != nil {
			t.Fatalf("the page's tracker setup threw: %s", *s.Error)
		}
		if len(s.Failed) > 0 {
			t.Fatalf("the tracker's requests to the collector failed: %s", s.Failed)
		}
		return s
	}

	// Be an active reader: move the mouse until the tracker made
	// activePings page pings.
	deadline := time.Now().Add(30 * time.Second)
	pingsAtStop := 0
	for i := 0; ; i++ {
		s := state()
		if pingsAtStop = s.count(pixel.TypePagePing); pingsAtStop >= activePings {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30s of mouse moves the tracker made %d page pings, want %d: %+v", s.count(pixel.TypePagePing), activePings, s.Tracked)
		}
		x, y := float64(100+(i*37)%700), float64(100+(i*53)%500)
		if err := chromedp.Do(ctx, chromedp.MouseEvent(chromedp.MouseMoved, x, y)); err != nil {
			t.Fatalf("mouse move: %v", err)
		}
		time.Sleep(150 * time.Millisecond)
	}
	// The reader stops. Activity in the last heartbeat may give one more
	// ping; after that the tracker must stay quiet, and every event it made
	// must have been acknowledged by the collector.
	var s pageState
	quietSince, lastCount := time.Now(), -1
	deadline = time.Now().Add(20 * time.Second)
	for {
		s = state()
		if n := len(s.Tracked); n != lastCount {
			quietSince, lastCount = time.Now(), n
		}
		if time.Since(quietSince) > 3*heartbeatDelay*time.Second && len(s.Sent) == len(s.Tracked) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the tracker never settled: %d events tracked, %d acknowledged", len(s.Tracked), len(s.Sent))
		}
		time.Sleep(200 * time.Millisecond)
	}
	pv, pp := s.count(pixel.TypePageView), s.count(pixel.TypePagePing)
	// Each heartbeat with activity since the last ping pings: pings made
	// until the reader stopped, and at most one for the last moves.
	if pv != 1 || pp < pingsAtStop || pp > pingsAtStop+1 || len(s.Tracked) != pv+pp {
		t.Fatalf("the tracker made %d page views and %d page pings (of %d events), want 1 and %d or %d", pv, pp, len(s.Tracked), pingsAtStop, pingsAtStop+1)
	}
	if s.Tracked[0]["e"] != pixel.TypePageView {
		t.Errorf("first event is %q, want the page view", s.Tracked[0]["e"])
	}
	tracked := map[string]map[string]string{}
	for _, ev := range s.Tracked {
		if tracked[ev["eid"]] != nil {
			t.Fatalf("the tracker made event id %s twice", ev["eid"])
		}
		tracked[ev["eid"]] = ev
	}
	if !sameSet(s.Sent, keysOf(tracked)) {
		t.Fatalf("acknowledged %v, tracked %v", s.Sent, keysOf(tracked))
	}

	// What went over the wire: tp2 POSTs (after a CORS preflight), each
	// answered 200.
	mu.Lock()
	var posts []collectorRequest
	for _, id := range order {
		r := reqs[id]
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL, collector.PathPost) {
			posts = append(posts, *r)
		}
		if r.Method != http.MethodOptions && r.Status != http.StatusOK {
			t.Errorf("%s %s answered %d", r.Method, r.URL, r.Status)
		}
	}
	mu.Unlock()
	if len(posts) != len(s.Tracked) {
		t.Errorf("chromium sent %d tp2 POSTs for %d events (bufferSize 1)", len(posts), len(s.Tracked))
	}
	if dir := os.Getenv("BROOKS_CAPTURE_TP2"); dir != "" {
		for i, r := range posts {
			name := filepath.Join(dir, fmt.Sprintf("tp2-%d.json", i))
			if err := os.WriteFile(name, r.Body, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("wrote %d tp2 bodies to %s", len(posts), dir)
	}

	// Kafka holds exactly the tracker's events, once each, as sent.
	msgs := stacktest.ReadTopic(t, p.Cfg, len(tracked), 20*time.Second, 2*time.Second)
	got := map[string]pixel.Event{}
	for _, m := range msgs {
		e, err := pixel.Unmarshal(m.Value)
		if err != nil {
			t.Fatalf("record at offset %d: %v", m.Offset, err)
		}
		if _, dup := got[e.EID]; dup {
			t.Fatalf("event %s is in kafka twice", e.EID)
		}
		if string(m.Key) != e.Customer {
			t.Errorf("record key %q, customer %q", m.Key, e.Customer)
		}
		got[e.EID] = e
	}
	if !sameSet(keysOf(got), keysOf(tracked)) {
		t.Fatalf("kafka holds events %v, the tracker made %v", keysOf(got), keysOf(tracked))
	}
	pv0 := s.Tracked[0]
	var nuids []string
	for eid, sent := range tracked {
		e := got[eid]
		checks := []struct{ field, got, want string }{
			{"aid", e.Customer, appID},
			{"e", e.Type, sent["e"]},
			{"url", e.URL, pageURL},
			{"url (tracker)", sent["url"], pageURL},
			{"duid", e.DUID, sent["duid"]},
			{"duid (same visitor)", e.DUID, pv0["duid"]},
			{"vid", fmt.Sprint(e.VisitIndex), sent["vid"]},
			{"vid (new visitor)", fmt.Sprint(e.VisitIndex), "1"},
			{"sid", e.SessionID, sent["sid"]},
			{"sid (same session)", e.SessionID, pv0["sid"]},
			{"dtm", e.DeviceTime, sent["dtm"]},
		}
		for _, c := range checks {
			if c.got != c.want || c.want == "" {
				t.Errorf("event %s (%s): %s = %q, want %q", eid, sent["e"], c.field, c.got, c.want)
			}
		}
		if e.NUID == "" || e.UserAgent == "" || !strings.Contains(e.UserAgent, "Chrome") {
			t.Errorf("event %s: nuid %q, ua %q", eid, e.NUID, e.UserAgent)
		}
		nuids = append(nuids, e.NUID)
		if e.ReceivedAt.IsZero() || time.Since(e.ReceivedAt) > 2*time.Minute {
			t.Errorf("event %s received at %v", eid, e.ReceivedAt)
		}
	}
	// The archiver copied exactly those events into closed, verified parts.
	archived := arch.stop(t, start)
	if !sameSet(keysOf(archived), keysOf(tracked)) {
		t.Fatalf("the archive holds events %v, the tracker made %v", keysOf(archived), keysOf(tracked))
	}
	for eid, e := range archived {
		if k := got[eid]; !reflect.DeepEqual(e, k) {
			t.Errorf("event %s: archive %+v, kafka %+v", eid, e, k)
		}
	}

	slices.Sort(nuids)
	if n := len(slices.Compact(nuids)); n != 1 {
		// Not a failure of this test: the collector's cookie attributes
		// are its own business (see the report on issue 3).
		t.Logf("the collector's sp cookie did not stick in chromium: %d network user ids for %d events; chromium refused %v", n, len(tracked), keysOf(blockedCookies))
	}
	t.Logf("tracker %s: 1 page view and %d page pings from chromium, each once in kafka topic %s and in the archive", pv0["tv"], pp, p.Cfg.Topic)
}

// archiver is an audit/archive archiver of the test's topic, writing to a
// local sink in a temporary folder.
type archiver struct {
	sink *archive.Local
	stop func(t *testing.T, since time.Time) map[string]pixel.Event
}

func startArchiver(t *testing.T, brokers []string, topic string) archiver {
	t.Helper()
	sink, err := archive.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	o := archive.DefaultOptions()
	o.Brokers, o.Topic, o.Sink = brokers, topic, sink
	o.Group = testenv.Name("archive")
	o.RollInterval = time.Second
	o.LedgerReplay = -1
	a, err := archive.New(o)
	if err != nil {
		t.Fatalf("archive: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			cancel()
			<-done
		}
	})
	return archiver{sink: sink, stop: func(t *testing.T, since time.Time) map[string]pixel.Event {
		t.Helper()
		// Give the archiver a roll interval to take the last records,
		// then stop it: it closes every open part and commits.
		time.Sleep(2 * o.RollInterval)
		cancel()
		stopped = true
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("archiver: %v", err)
			}
		case <-time.After(time.Minute):
			t.Fatalf("archiver did not stop within a minute")
		}
		vctx, vcancel := context.WithTimeout(context.Background(), time.Minute)
		defer vcancel()
		from, to := since.Add(-time.Hour), time.Now().Add(time.Hour)
		rep, err := archive.Verify(vctx, sink, appID, from, to)
		if err != nil {
			t.Fatalf("archive verify: %v", err)
		}
		if !rep.OK() || len(rep.Orphans) > 0 {
			t.Fatalf("archive verify: problems %v, orphans %v", rep.Problems, rep.Orphans)
		}
		mans, _, err := archive.Manifests(vctx, sink, appID, from, to)
		if err != nil {
			t.Fatalf("archive manifests: %v", err)
		}
		out := map[string]pixel.Event{}
		for _, m := range mans {
			err := archive.ReadPart(vctx, sink, m, func(line []byte) error {
				e, err := pixel.Unmarshal(line)
				if err != nil {
					return err
				}
				if _, dup := out[e.EID]; dup {
					return fmt.Errorf("event %s archived twice", e.EID)
				}
				out[e.EID] = e
				return nil
			})
			if err != nil {
				t.Fatalf("archive part %s: %v", m.Key, err)
			}
		}
		t.Logf("archive: %d parts, %d events, verified", len(mans), rep.Events)
		return out
	}}
}

func keysOf[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
