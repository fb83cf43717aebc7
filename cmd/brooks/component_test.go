package main

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/brooksdata/brooks/internal/testkit/testenv"
	"github.com/brooksdata/brooks/shadow/tee"
)

// TestLegacyIngestStartsWithoutCassandra runs `brooks legacy ingest` with
// the ledger on and Cassandra unreachable: it must start, be ready (its own
// stores and Kafka answer) and stop cleanly on its signal. Before the one
// ledger wiring, it exited at start.
func TestLegacyIngestStartsWithoutCassandra(t *testing.T) {
	cfg := testenv.Require(t, testenv.Kafka, testenv.Redis, testenv.FerretDB)
	topic := testenv.Name("pixels")
	ctx := testenv.Context(t, 2*time.Minute)
	if err := (tee.Topic{Brokers: cfg.KafkaBrokers, Name: topic, Partitions: 1}).Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dead, err := net.Listen("tcp", "127.0.0.1:0") // a port that refuses Cassandra's protocol
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.Addr().String()
	dead.Close()

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	exit := make(chan int, 1)
	go func() {
		exit <- runContext(runCtx, []string{"legacy", "ingest", "--topic", topic, "--group", testenv.Name("group"),
			"--key-prefix", testenv.Name("legacy") + ":", "--http-addr", addr, "--ledger=true",
			"--cassandra-hosts", deadAddr, "--customers-file", cfg.CustomersFile})
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case code := <-exit:
			t.Fatalf("legacy ingest exited %d at start with Cassandra down", code)
		default:
		}
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("legacy ingest not ready 30 s after start (last: %v)", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	stop()
	select {
	case code := <-exit:
		if code != exitOK {
			t.Errorf("legacy ingest exited %d after a clean stop with nothing to record, want 0", code)
		}
	case <-time.After(time.Minute):
		t.Fatal("legacy ingest did not stop a minute after its context ended")
	}
}
