package rawstore_test

import (
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brooksdata/brooks/internal/cass"
	"github.com/brooksdata/brooks/internal/testkit/testenv"
	"github.com/brooksdata/brooks/nextgen/rawstore"
	"github.com/brooksdata/brooks/pixel"
)

// BenchmarkWriteCPU measures the Cassandra CPU spent per raw event row
// written, on the stream engine's write path: BENCH_WRITERS (default 6)
// partition writers, each with its Deduper (so no lookups), insert batches
// of BENCH_BATCH (default 5000, the engine's MaxBatch) ~400-byte events
// with random eids, of BENCH_CUSTOMERS (default 3) customers in one hour,
// until BENCH_ROWS (default 300000) rows are written, after BENCH_WARMUP
// (default 50000) rows that are not measured. Options: BENCH_BATCH_KIB,
// BENCH_CONCURRENCY (default: rawstore's defaults), and
// BENCH_TABLE_OPTIONS, table options to ALTER the fresh table with (e.g.
// "compaction = {'class': 'UnifiedCompactionStrategy'}"). It runs the
// scenario once whatever b.N: run it with -benchtime 1x.
//
// The figure (cass-µs/row) is the CPU time (utime+stime) of the local
// stack's Cassandra process (pid file under BROOKS_STATE, default .brooks)
// from the first measured write until the server is back to idle after
// the last one (so memtable flushes and compactions caused by the writes
// are counted), minus the idle rate measured before; it only means
// something when nothing else uses that Cassandra. cass-nojit-µs/row
// leaves out the JIT compiler threads, whose share fades as the JVM warms
// up (it is large for a few million rows after a restart). Per thread
// group (Linux thread names, digits dropped) it logs where the CPU went,
// and the GC pauses from Cassandra's gc.log. The machine's other load
// moves the figure by ±20 %: compare settings in alternating runs.
func BenchmarkWriteCPU(b *testing.B) {
	cfg := testenv.Require(b, testenv.Cassandra)
	pid := cassandraPID(b)
	rows := testenv.EnvInt("BENCH_ROWS", 300000)
	warm := testenv.EnvInt("BENCH_WARMUP", 50000)
	writers := testenv.EnvInt("BENCH_WRITERS", 6)
	customers := testenv.EnvInt("BENCH_CUSTOMERS", 3)
	o := rawstore.Options{BatchBytes: testenv.EnvInt("BENCH_BATCH_KIB", 0) << 10, Concurrency: testenv.EnvInt("BENCH_CONCURRENCY", 0)}
	batch := testenv.EnvInt("BENCH_BATCH", 5000)

	ks := testenv.Name("rawcpu")
	ctx := testenv.Context(b, 30*time.Minute)
	if err := rawstore.Migrate(ctx, cfg.CassandraHosts, ks, 1); err != nil {
		b.Fatal(err)
	}
	defer func() {
		if s, err := cass.Connect(cfg.CassandraHosts, ""); err == nil {
			_ = s.Query("DROP KEYSPACE IF EXISTS " + ks).Exec()
			s.Close()
		}
	}()
	if c := os.Getenv("BENCH_TABLE_OPTIONS"); c != "" {
		cs, err := cass.Connect(cfg.CassandraHosts, ks)
		if err != nil {
			b.Fatal(err)
		}
		err = cs.Query("ALTER TABLE raw_events WITH " + c).Exec()
		cs.Close()
		if err != nil {
			b.Fatal(err)
		}
	}
	s, err := rawstore.Open(cfg.CassandraHosts, ks, o)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()

	// Hours the Dedupers cover from the start: no lookups.
	now := time.Now()
	hour := now.UTC().Truncate(time.Hour).Add(3 * time.Hour)
	total := warm + rows
	perWriter := (total + writers - 1) / writers
	perWriter = (perWriter + batch - 1) / batch * batch
	dedupers := make([]*rawstore.Deduper, writers)
	rnds := make([]*rand.Rand, writers)
	for w := range dedupers {
		dedupers[w] = s.NewDeduper(int32(w), now)
		rnds[w] = rand.New(rand.NewPCG(uint64(now.UnixNano()), uint64(w)))
	}
	// records makes writer w's records from..to: random version-4-shaped
	// eids, as loadgen and the collector make, and ~400-byte values.
	records := func(w, from, to int) []rawstore.Record {
		recs := make([]rawstore.Record, 0, to-from)
		for j := from; j < to; j++ {
			hi, lo := rnds[w].Uint64(), rnds[w].Uint64()
			e := pixel.Event{EID: fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", hi>>32, hi>>16&0xffff, hi&0xfff, lo>>52&0xfff, lo&0xffffffffffff),
				Customer: fmt.Sprintf("cust%d.example", j%customers), Type: "pv",
				ReceivedAt: hour.Add(time.Duration(j) * time.Millisecond), DUID: "3-1-445", VisitIndex: 1, SessionID: "s-3-1",
				URL: "https://acme.example/post/128-story-12", Referrer: "https://someblog.example/links",
				UserAgent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15"}
			v, _ := e.Marshal()
			recs = append(recs, rawstore.Record{Event: e, Value: v, Partition: int32(w), Offset: int64(j)})
		}
		return recs
	}
	// run writes each writer's records from..to (batch-aligned)
	// concurrently, making each batch while the previous one is written.
	run := func(from, to int) {
		var wg sync.WaitGroup
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				next := make(chan []rawstore.Record, 1)
				go func() {
					defer close(next)
					for lo := from; lo < to; lo += batch {
						next <- records(w, lo, min(lo+batch, to))
					}
				}()
				for recs := range next {
					if _, err := dedupers[w].Insert(ctx, recs); err != nil {
						b.Error(err)
						for range next {
						}
						return
					}
				}
			}()
		}
		wg.Wait()
	}
	warmPer := min(perWriter, (warm/writers+batch-1)/batch*batch)
	run(0, warmPer)
	measured := (perWriter - warmPer) * writers

	// Idle rate after the warm-up has settled.
	settle(pid, 60*time.Second, -1)
	t0, c0 := time.Now(), procCPU(pid)
	time.Sleep(3 * time.Second)
	idle := float64(procCPU(pid)-c0) / float64(time.Since(t0))

	gcFrom := gcLogSize(b)
	threads0 := threadCPU(pid)
	b.ResetTimer()
	start, cpu0 := time.Now(), procCPU(pid)
	run(warmPer, perWriter)
	wall := time.Since(start)
	cpuWrite := procCPU(pid) - cpu0
	settle(pid, 60*time.Second, idle)
	span := time.Since(start)
	cpuAll := procCPU(pid) - cpu0 - time.Duration(idle*float64(span))
	b.StopTimer()
	threads1 := threadCPU(pid)

	var looked int
	for _, d := range dedupers {
		looked += d.Stats().LookedUp
	}
	perRow := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 / float64(measured) }
	// The JIT compiler's share: it fades as the JVM warms up, so it is
	// reported apart.
	jit := threadGroupCPU(threads0, threads1, "C# CompilerThre")
	b.ReportMetric(perRow(cpuAll), "cass-µs/row")
	b.ReportMetric(perRow(cpuAll-jit), "cass-nojit-µs/row")
	b.ReportMetric(perRow(cpuWrite), "cass-write-µs/row")
	b.ReportMetric(float64(measured)/wall.Seconds(), "rows/s")
	fmt.Printf("    %d rows in %v (%.0f rows/s), %d looked up; Cassandra CPU %.1fs during writes (%.1f µs/row), %.1fs until idle %v later, idle rate %.3f cores subtracted: %.1f µs/row\n",
		measured, wall.Round(time.Millisecond), float64(measured)/wall.Seconds(), looked, cpuWrite.Seconds(), perRow(cpuWrite),
		(procCPU(pid) - cpu0).Seconds(), (span - wall).Round(100*time.Millisecond), idle, perRow(cpuAll))
	fmt.Printf("    without the JIT compiler threads: %.1f µs/row\n", perRow(cpuAll-jit))
	fmt.Printf("    threads (µs/row): %s\n", threadReport(threads0, threads1, measured))
	if n, ms := gcPauses(b, gcFrom); n > 0 {
		fmt.Printf("    GC: %d pauses, %.0f ms (%.2f µs/row of pause)\n", n, ms, ms*1e3/float64(measured))
	}
}

func cassandraPID(t testing.TB) int {
	pid, err := testenv.ServerPID(t, testenv.Cassandra)
	if err != nil {
		t.Skipf("no local Cassandra: %v", err)
	}
	return pid
}

func procCPU(pid int) time.Duration {
	d, _ := testenv.ProcessCPU(pid)
	return d
}

// settle waits until the process's CPU rate over a second is at most
// idle+0.05 cores (idle < 0: until it is below 0.15 cores), or max.
func settle(pid int, max time.Duration, idle float64) {
	limit := 0.15
	if idle >= 0 {
		limit = idle + 0.05
	}
	deadline := time.Now().Add(max)
	for time.Now().Before(deadline) {
		c0 := procCPU(pid)
		time.Sleep(time.Second)
		if float64(procCPU(pid)-c0)/float64(time.Second) <= limit {
			return
		}
	}
}

// threadCPU is CPU per thread (tid -> name, time).
func threadCPU(pid int) map[string]threadSample {
	out := map[string]threadSample{}
	dir := fmt.Sprintf("/proc/%d/task", pid)
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name(), "stat"))
		if err != nil {
			continue
		}
		name, d, _ := testenv.ParseStat(string(b))
		out[e.Name()] = threadSample{name, d}
	}
	return out
}

type threadSample struct {
	name string
	cpu  time.Duration
}

var digits = regexp.MustCompile(`[0-9]+`)

func threadGroups(a, b map[string]threadSample) map[string]time.Duration {
	groups := map[string]time.Duration{}
	for tid, s := range b {
		groups[digits.ReplaceAllString(s.name, "#")] += s.cpu - a[tid].cpu
	}
	return groups
}

// threadGroupCPU is the CPU of one thread group between two samples.
func threadGroupCPU(a, b map[string]threadSample, group string) time.Duration {
	return threadGroups(a, b)[group]
}

func threadReport(a, b map[string]threadSample, rows int) string {
	groups := threadGroups(a, b)
	names := make([]string, 0, len(groups))
	for n := range groups {
		names = append(names, n)
	}
	slices.SortFunc(names, func(x, y string) int { return int(groups[y] - groups[x]) })
	var parts []string
	for _, n := range names {
		us := float64(groups[n].Nanoseconds()) / 1e3 / float64(rows)
		if us < 0.5 {
			break
		}
		parts = append(parts, fmt.Sprintf("%s %.1f", n, us))
	}
	return strings.Join(parts, ", ")
}

func gcLogSize(t testing.TB) int64 {
	fi, err := os.Stat(filepath.Join(testenv.StateDir(t), "cassandra", "logs", "gc.log"))
	if err != nil {
		return -1
	}
	return fi.Size()
}

var pauseMS = regexp.MustCompile(`Pause .* ([0-9.]+)ms$`)

// gcPauses counts the pauses logged in gc.log after offset from.
func gcPauses(t testing.TB, from int64) (n int, ms float64) {
	if from < 0 {
		return 0, 0
	}
	f, err := os.Open(filepath.Join(testenv.StateDir(t), "cassandra", "logs", "gc.log"))
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	if _, err := f.Seek(from, 0); err != nil {
		return 0, 0
	}
	buf, _ := io.ReadAll(f)
	for _, line := range strings.Split(string(buf), "\n") {
		if m := pauseMS.FindStringSubmatch(line); m != nil {
			v, _ := strconv.ParseFloat(m[1], 64)
			n++
			ms += v
		}
	}
	return n, ms
}
