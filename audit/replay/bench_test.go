package replay_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/brooksdata/brooks/audit/archive"
	"github.com/brooksdata/brooks/audit/ledger"
	"github.com/brooksdata/brooks/audit/replay"
	"github.com/brooksdata/brooks/internal/testkit/testenv"
	"github.com/brooksdata/brooks/loadgen"
	"github.com/brooksdata/brooks/pixel"
)

// writeArchive writes n loadgen events of one customer-hour as parts of
// perPart records, with manifests, the way the archiver lays them out;
// every tenth record is a retry of an earlier one (same eid).
func writeArchive(tb testing.TB, sink archive.Sink, customer string, hour time.Time, n, perPart int) {
	tb.Helper()
	gen := loadgen.NewGenerator(1, loadgen.DefaultProfiles(), 0)
	ctx := context.Background()
	var first int64
	var prev []string
	for lo := 0; lo < n; lo += perPart {
		var raw, gz bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&gz, gzip.DefaultCompression)
		var t ledger.Tally
		cnt := 0
		for i := lo; i < min(lo+perPart, n); i++ {
			p := gen.Next()
			e := pixel.Event{EID: p["eid"], Customer: customer, Type: p["e"], ReceivedAt: hour.Add(time.Duration(i) * time.Hour / time.Duration(n)),
				URL: p["url"], Referrer: p["refr"], DUID: p["duid"], SessionID: p["sid"], UserAgent: "Mozilla/5.0 (X11; Linux x86_64)", Raw: p}
			if i%10 == 9 && len(prev) > 0 {
				e.EID = prev[i%len(prev)]
			}
			prev = append(prev, e.EID)
			b, err := e.Marshal()
			if err != nil {
				tb.Fatal(err)
			}
			raw.Write(b)
			raw.WriteByte('\n')
			t.Add(e.EID)
			cnt++
		}
		zw.Write(raw.Bytes())
		zw.Close()
		key := archive.PartKey(customer, hour, 0, first)
		sum := sha256.Sum256(gz.Bytes())
		m := archive.Manifest{Version: archive.ManifestVersion, Key: key, Customer: customer, Hour: hour, Topic: "bench", Partition: 0,
			FirstOffset: first, LastOffset: first + int64(cnt) - 1, Events: int64(cnt), Bytes: int64(gz.Len()), RawBytes: int64(raw.Len()),
			SHA256: hex.EncodeToString(sum[:]), EIDHash: archive.HashHex(t.Hash), CreatedAt: hour, Reason: "roll", Writer: "bench"}
		first += int64(cnt)
		put(tb, sink, key, gz.Bytes())
		mb, _ := json.Marshal(m)
		put(tb, sink, m.ManifestKey(), mb)
	}
	_ = ctx
}

func put(tb testing.TB, sink archive.Sink, key string, b []byte) {
	o, err := sink.Create(context.Background(), key)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := o.Write(b); err != nil {
		tb.Fatal(err)
	}
	if err := o.Commit(context.Background()); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkReplay measures the replay's own work per CPU core: reading
// the parts (gunzip, sha256 against the manifest), decoding every record
// into a pixel.Event, verifying count and event-id hash, deduplicating by
// eid and aggregating with rollup at 5m and 1d. It reports events/s of
// wall time and events per CPU-second of this process (the benchmark is
// single-threaded, so the two agree when the machine is idle).
func BenchmarkReplay(b *testing.B) {
	n := testenv.EnvInt("BROOKS_BENCH_EVENTS", 100000)
	sink, err := archive.NewLocal(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	hour := time.Now().UTC().Truncate(time.Hour).Add(-2 * time.Hour)
	writeArchive(b, sink, "acme.example", hour, n, 20000)
	customers := testenv.Customers(b)
	cpu0, _ := testenv.ProcessCPU(os.Getpid())
	b.ResetTimer()
	for range b.N {
		tr, err := replay.Build(context.Background(), sink, customers, "acme.example", hour, hour.Add(time.Hour), replay.BuildOptions{Lookback: -1})
		if err != nil {
			b.Fatal(err)
		}
		if len(tr.Refused) > 0 || tr.Records != int64(n) || tr.Duplicates == 0 {
			b.Fatalf("refused %v, %d records, %d duplicates", tr.Refused, tr.Records, tr.Duplicates)
		}
	}
	b.StopTimer()
	cpu1, _ := testenv.ProcessCPU(os.Getpid())
	events := float64(n * b.N)
	b.ReportMetric(events/b.Elapsed().Seconds(), "events/s")
	if d := (cpu1 - cpu0).Seconds(); d > 0 {
		b.ReportMetric(events/d, "events/cpu-s")
	}
}
