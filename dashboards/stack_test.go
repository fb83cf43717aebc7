package dashboards_test

import (
	"context"
	"net"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gocql/gocql"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"go.mongodb.org/mongo-driver/mongo"
	mongoopts "go.mongodb.org/mongo-driver/mongo/options"

	auditapi "github.com/brooksdata/brooks/audit/api"
	"github.com/brooksdata/brooks/audit/certify"
	"github.com/brooksdata/brooks/audit/ledger"
	"github.com/brooksdata/brooks/dashboards"
	"github.com/brooksdata/brooks/internal/auth"
	"github.com/brooksdata/brooks/internal/cass"
	"github.com/brooksdata/brooks/internal/component"
	"github.com/brooksdata/brooks/internal/testkit/enginetest"
	"github.com/brooksdata/brooks/internal/testkit/querytest"
	"github.com/brooksdata/brooks/internal/testkit/stacktest"
	"github.com/brooksdata/brooks/internal/testkit/testenv"
	"github.com/brooksdata/brooks/legacy"
	"github.com/brooksdata/brooks/loadgen"
	"github.com/brooksdata/brooks/nextgen/api"
	"github.com/brooksdata/brooks/nextgen/engine"
	"github.com/brooksdata/brooks/nextgen/queryengine"
	"github.com/brooksdata/brooks/nextgen/rawstore"
	"github.com/brooksdata/brooks/pixel"
	"github.com/brooksdata/brooks/query"
	"github.com/brooksdata/brooks/shadow/cutover"
	"github.com/brooksdata/brooks/shadow/evidence"
	"github.com/brooksdata/brooks/shadow/matrix"
	"github.com/brooksdata/brooks/shadow/proxy"
)

// The customers of deploy/local/customers.yaml and the cutover state the
// test's proxy gives each: acme is served by nextgen (every metric and
// dimension), globex by legacy (no campaigns, devices, engaged time: 422).
const (
	acme   = "acme.example"
	globex = "globex.example"
)

var states = map[string]cutover.State{acme: cutover.Live, globex: cutover.Legacy, "initech.example": cutover.Shadow}

// stack is the real thing behind the dashboards: loadgen traffic through
// a collector and a fresh Kafka topic into legacy (Redis, FerretDB) and
// nextgen (Cassandra, Elasticsearch), their query APIs, a routing proxy
// with tokens and an evidence store, and the dashboards in front.
type stack struct {
	customers            *pixel.Customers
	exp                  *loadgen.Expectations
	legacy, nextgen      *query.Client
	nextgenURL, proxyURL string
	dashURL              string
	admin                string
	read                 map[string]string
	evidence             *evidence.Store
	// cutoverURL and auditURL are the admin APIs (on component runners
	// with the test's tokens): a cutover controller on the keyspace, and
	// the audit's ledger report and certificates.
	cutoverURL, auditURL string
	certificates         *certify.Store
	cert                 *certify.Certificate
	ledger               *ledger.Store
}

func runStack(t *testing.T, o loadgen.Options) *stack {
	t.Helper()
	p := stacktest.Start(t)
	cfg := testenv.Require(t, testenv.Kafka, testenv.Redis, testenv.FerretDB, testenv.Cassandra, testenv.Elasticsearch)
	cfg.Topic = p.Cfg.Topic
	customers := testenv.Customers(t)
	ctx := testenv.Context(t, 5*time.Minute)
	st := &stack{customers: customers, read: map[string]string{}}

	// Legacy.
	prefix, db := testenv.Name("dashlegacy")+":", testenv.Name("dashlegacy")
	lstore, err := legacy.Connect(ctx, cfg.RedisAddr, cfg.MongoURI, db, legacy.Options{KeyPrefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	if err := lstore.EnsureSchema(ctx); err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: cfg.RedisAddr})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		var keys []string
		iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		for len(keys) > 0 {
			n := min(len(keys), 500)
			rdb.Unlink(ctx, keys[:n]...)
			keys = keys[n:]
		}
		rdb.Close()
		lstore.Close(ctx)
		if c, err := mongo.Connect(ctx, mongoopts.Client().ApplyURI(cfg.MongoURI)); err == nil {
			_ = c.Database(db).Drop(ctx)
			_ = c.Disconnect(ctx)
		}
	})
	lo := legacy.DefaultIngestOptions()
	lo.Brokers, lo.Topic, lo.Group, lo.Customers = cfg.KafkaBrokers, cfg.Topic, testenv.Name("dashlegacy"), customers
	lo.FlushInterval = 200 * time.Millisecond
	ing, err := legacy.NewIngester(lstore, lo)
	if err != nil {
		t.Fatal(err)
	}
	runUntilCleanup(t, "legacy ingester", ing.Run)
	lsrv, err := legacy.NewServer(lstore, legacy.ServerOptions{Customers: customers})
	if err != nil {
		t.Fatal(err)
	}
	lts := httptest.NewServer(lsrv)
	t.Cleanup(lts.Close)

	// Nextgen.
	ks := testenv.Name("dashnext")
	if err := rawstore.Migrate(ctx, cfg.CassandraHosts, ks, 1); err != nil {
		t.Fatal(err)
	}
	raw, err := rawstore.Open(cfg.CassandraHosts, ks, rawstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	session, err := cass.Connect(cfg.CassandraHosts, ks)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		raw.Close()
		_ = session.Query("DROP KEYSPACE IF EXISTS " + ks).Exec()
		session.Close()
	})
	// The lineage ledger: the collector's stage and the engine's raw and
	// rollup stages record in it (the ledger heat map reads it).
	if err := ledger.Migrate(ctx, session, ks); err != nil {
		t.Fatal(err)
	}
	st.ledger = ledger.NewStore(session, ks)
	rec := &ledger.Recorder{Acc: p.Ledger, Store: st.ledger, Stage: ledger.StageCollector, Writer: ledger.WriterID("collector-test"), Interval: 200 * time.Millisecond}
	runUntilCleanup(t, "collector ledger recorder", rec.Run)
	es := enginetest.OpenIndex(t)
	eo := engine.DefaultOptions()
	eo.Brokers, eo.Topic, eo.Group = cfg.KafkaBrokers, cfg.Topic, testenv.Name("dashnext")
	eo.Customers, eo.Raw, eo.ES, eo.Ledger = customers, raw, es, st.ledger
	eo.FlushInterval, eo.SessionTimeout = 200*time.Millisecond, 6*time.Second
	eng, err := engine.New(eo)
	if err != nil {
		t.Fatal(err)
	}
	runUntilCleanup(t, "nextgen engine", eng.Run)
	qo := queryengine.DefaultOptions()
	qo.Customers, qo.Raw = customers, raw
	qe, err := queryengine.New(es, qo)
	if err != nil {
		t.Fatal(err)
	}
	nsrv, err := api.New(qe, api.Options{Customers: customers, Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	nts := httptest.NewServer(nsrv.Handler())
	t.Cleanup(nts.Close)
	st.nextgenURL = nts.URL
	st.legacy, st.nextgen = query.NewClient(lts.URL), query.NewClient(nts.URL)

	// The evidence store (same keyspace) and the proxy.
	if err := evidence.Migrate(ctx, session, ks); err != nil {
		t.Fatal(err)
	}
	st.evidence = evidence.NewStore(session, ks, evidence.Options{TTL: time.Hour})
	var entries []auth.Entry
	tok, e, err := auth.NewToken("", true, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	st.admin, entries = tok, append(entries, e)
	for _, c := range customers.IDs() {
		tok, e, err := auth.NewToken(c, false, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		st.read[c], entries = tok, append(entries, e)
	}
	tokens, err := auth.New(entries...)
	if err != nil {
		t.Fatal(err)
	}
	po := proxy.DefaultOptions()
	po.LegacyURL, po.NextgenURL, po.Tokens, po.Customers = lts.URL, nts.URL, tokens, customers
	po.States = cutover.Static{Customers: states}
	po.Handlers = evidence.Handlers(st.evidence, evidence.SummaryOptions{Shapes: matrix.SyntheticIDs()}, nil)
	px, err := proxy.New(po)
	if err != nil {
		t.Fatal(err)
	}
	pts := httptest.NewServer(px.Handler())
	t.Cleanup(pts.Close)
	st.proxyURL = pts.URL

	st.startAdminAPIs(t, ctx, session, ks, tokens)

	// The dashboards: the proxy, nextgen's raw drill-down and the admin
	// APIs, as deploy/local/demo.sh wires them.
	do := dashboards.DefaultOptions()
	do.ProxyURL, do.RawURL, do.Customers, do.Refresh = pts.URL, nts.URL, customers, 2*time.Second
	do.CutoverURL, do.AdminURL = st.cutoverURL, st.auditURL
	d, err := dashboards.New(do)
	if err != nil {
		t.Fatal(err)
	}
	if !d.AssetsBuilt() {
		t.Fatal("dashboards/web/dist has no app.js: run `make build` (npm ci and esbuild) first")
	}
	dts := httptest.NewServer(d.Handler())
	t.Cleanup(dts.Close)
	st.dashURL = dts.URL

	st.exp = stacktest.Send(t, p, o)
	st.waitCaughtUp(t)
	return st
}

// startAdminAPIs serves a cutover controller on the keyspace (its gates
// read the test's evidence store, certificates and nextgen) and the
// audit's admin API, each on a component runner asking admin tokens, as
// brooks cutover run and brooks audit serve do.
func (st *stack) startAdminAPIs(t *testing.T, ctx context.Context, session *gocql.Session, ks string, tokens *auth.Tokens) {
	t.Helper()
	if err := cutover.Migrate(ctx, session, ks); err != nil {
		t.Fatal(err)
	}
	if err := certify.Migrate(ctx, session, ks); err != nil {
		t.Fatal(err)
	}
	st.certificates = certify.NewStore(session, ks)
	// The traffic is minutes old: the gates' clock runs 10 minutes ahead
	// of a 5-minute settle window (as shadow/cutover's e2e test does), and
	// the data lookback is a day (the default 30 days reaches 5-minute
	// data nextgen no longer keeps: the gate fails on nextgen's 422).
	gates := &cutover.Gates{Options: cutover.GateOptions{SettleWindow: 5 * time.Minute, DataLookback: 24 * time.Hour, AuditDays: 1,
		EvidenceWindow: time.Hour, MinMatchRate: 0.999, MinSettled: 20, MinCoverage: 0.95, MaxFreshnessP99: time.Minute, LiveFor: time.Hour},
		Evidence: cutover.EvidenceSummaries{Reader: st.evidence, Options: evidence.SummaryOptions{Shapes: matrix.SyntheticIDs()}},
		Audit:    cutover.Certificates{Session: session, Keyspace: ks}, Nextgen: st.nextgen,
		Now: func() time.Time { return time.Now().Add(10 * time.Minute) }}
	ctl, err := cutover.New(cutover.Options{Store: cutover.NewStore(session, ks), Gates: gates, Customers: st.customers.IDs(), Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	cr := component.New(component.Options{Name: "cutover", Auth: tokens})
	for pattern, h := range cutover.Handlers(ctl) {
		cr.Handle(pattern, h)
	}
	cts := httptest.NewServer(cr.Handler())
	t.Cleanup(cts.Close)
	st.cutoverURL = cts.URL

	ao := auditapi.DefaultOptions()
	ao.Ledger, ao.Certificates, ao.Customers = st.ledger, st.certificates, st.customers
	routes, err := auditapi.Handlers(ao)
	if err != nil {
		t.Fatal(err)
	}
	ar := component.New(component.Options{Name: "audit", Auth: tokens})
	for pattern, h := range routes {
		ar.Handle(pattern, h)
	}
	ats := httptest.NewServer(ar.Handler())
	t.Cleanup(ats.Close)
	st.auditURL = ats.URL
}

// refusedURL is a loopback URL nothing listens on.
func refusedURL(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return "http://" + ln.Addr().String()
}

func runUntilCleanup(t testing.TB, name string, run func(context.Context) error) {
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("%s: %v", name, err)
		}
	})
}

// waitCaughtUp polls both systems until their 5-minute page view totals
// over the last day are loadgen's (legacy: posts only).
func (st *stack) waitCaughtUp(t testing.TB) {
	t.Helper()
	to := time.Now().UTC().Truncate(5 * time.Minute).Add(5 * time.Minute)
	from := to.Add(-24 * time.Hour)
	deadline := time.Now().Add(3 * time.Minute)
	for {
		lagging := ""
		for _, cust := range st.customers.IDs() {
			c, _ := st.customers.Get(cust)
			all := st.exp.Total(func(k loadgen.Key) bool { return k.Customer == cust }).Pageviews
			posts := st.exp.Total(func(k loadgen.Key) bool { return k.Customer == cust && c.IsPost(k.URL) }).Pageviews
			day := to.Truncate(24 * time.Hour)
			for _, ch := range []struct {
				cl       *query.Client
				want     int
				interval string
				groupBy  []string
			}{
				{st.legacy, posts, "5m", nil}, {st.nextgen, all, "5m", nil},
				{st.legacy, posts, "1d", []string{"url"}}, {st.nextgen, all, "1d", nil}, {st.nextgen, all, "total", []string{"url"}},
			} {
				f, tt := from, to
				if ch.interval == "1d" {
					f, tt = day.Add(-24*time.Hour), day.Add(24*time.Hour)
				}
				a, err := ch.cl.Do(testenv.Context(t, time.Minute), &query.Query{Customer: cust, Metrics: []string{"pageviews"}, GroupBy: ch.groupBy, From: f, To: tt, Interval: ch.interval})
				if querytest.Unavailable(err) {
					lagging = cust + " (" + err.Error() + ")"
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				if got := sumOf(a, "pageviews"); got != float64(ch.want) {
					lagging = cust
				}
			}
		}
		if lagging == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the systems never caught up with loadgen (%s still differs)", lagging)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func sumOf(a *query.Answer, metric string) float64 {
	var s float64
	for _, se := range a.Series {
		for _, p := range se.Points {
			s += p.Values[metric]
		}
	}
	return s
}
