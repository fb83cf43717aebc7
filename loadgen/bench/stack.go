package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/segmentio/kafka-go"
)

// component is one Brooks process of the platform.
type component struct {
	Name string
	// Args are the brooks subcommand and flags; "{addr}" and "{group}" are
	// filled in.
	Args []string
	// Port is the offset added to the base port.
	Port int
	// Group is the consumer group's suffix; "" for a process that does not
	// consume the topic.
	Group string
}

// components are the platform's processes, in start order. The archive
// rolls parts every 10 s (default 1 m) so that its committed offset, which
// moves only when a part closes, shows its drain within seconds.
var components = []component{
	{Name: "collector", Args: []string{"collector"}, Port: 80},
	{Name: "archive", Args: []string{"archive", "--roll-interval", "10s"}, Port: 183, Group: "archive"},
	{Name: "legacy-ingest", Args: []string{"legacy", "ingest"}, Port: 181, Group: "legacy"},
	{Name: "legacy-serve", Args: []string{"legacy", "serve"}, Port: 81},
	{Name: "nextgen-run", Args: []string{"nextgen", "run"}, Port: 184, Group: "nextgen"},
	{Name: "nextgen-serve", Args: []string{"nextgen", "serve"}, Port: 82},
}

// componentNamed is the component called name; it panics on a name not in
// components (a programming error).
func componentNamed(name string) component {
	for _, c := range components {
		if c.Name == name {
			return c
		}
	}
	panic("bench: no component " + name)
}

// stack is the run's processes and names.
type stack struct {
	bin, dir, token string
	base            int
	topic           string
	groupPrefix     string
	redisPrefix     string
	keyspace        string
	indexPrefix     string
	cassandra       []string
	elastic         string
	brokers         []string
	partitions      int
	env             []string
	log             *slog.Logger

	procs []*proc
}

// proc is a started component.
type proc struct {
	component
	addr  string
	group string
	cmd   *exec.Cmd
	done  chan struct{}
}

func (s *stack) url(c component) string { return fmt.Sprintf("http://127.0.0.1:%d", s.base+c.Port) }

func (s *stack) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, s.bin, args...)
	cmd.Env = append(os.Environ(), s.env...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	return cmd
}

// migrate creates the run's topic and the bench's stores (idempotent).
func (s *stack) migrate(ctx context.Context) error {
	out, err := s.command(ctx, "migrate").CombinedOutput()
	_ = os.WriteFile(filepath.Join(s.dir, "migrate.log"), out, 0o644)
	if err != nil {
		return fmt.Errorf("bench: migrate: %w: %s", err, lastLines(out, 10))
	}
	return nil
}

// start starts every component and waits until each answers /healthz.
func (s *stack) start(ctx context.Context) error {
	for _, c := range components {
		p := &proc{component: c, addr: fmt.Sprintf("127.0.0.1:%d", s.base+c.Port), done: make(chan struct{})}
		args := append(append([]string{}, c.Args...), "--http-addr", p.addr)
		if c.Group != "" {
			p.group = s.groupPrefix + "-" + c.Group
			args = append(args, "--group", p.group)
		}
		if c.Args[0] == "legacy" {
			args = append(args, "--key-prefix", s.redisPrefix)
		}
		logf, err := os.Create(filepath.Join(s.dir, c.Name+".log"))
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		// Not CommandContext: stop ends the components in order, with
		// SIGTERM, after the measurement.
		cmd := exec.Command(s.bin, args...)
		cmd.Env = append(os.Environ(), s.env...)
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			logf.Close()
			return fmt.Errorf("bench: start %s: %w", c.Name, err)
		}
		p.cmd = cmd
		go func() { _ = cmd.Wait(); logf.Close(); close(p.done) }()
		s.procs = append(s.procs, p)
		s.log.Info("started", "component", c.Name, "pid", cmd.Process.Pid, "addr", p.addr)
	}
	for _, p := range s.procs {
		if err := s.waitHealthy(ctx, p, time.Minute); err != nil {
			return err
		}
	}
	return nil
}

func (s *stack) waitHealthy(ctx context.Context, p *proc, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+p.addr+"/healthz", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.done:
			return fmt.Errorf("bench: %s exited before it was healthy; see %s", p.Name, filepath.Join(s.dir, p.Name+".log"))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bench: %s not healthy after %v; see %s", p.Name, limit, filepath.Join(s.dir, p.Name+".log"))
		}
	}
}

// consumers are the started processes that consume the topic.
func (s *stack) consumers() []*proc {
	var out []*proc
	for _, p := range s.procs {
		if p.group != "" {
			out = append(out, p)
		}
	}
	return out
}

// find returns the started process named name, or nil.
func (s *stack) find(name string) *proc {
	for _, p := range s.procs {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// waitAssigned waits until every consumer owns all the topic's partitions
// (brooks_consumer_assigned_partitions), so lag is measured from the start.
func (s *stack) waitAssigned(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for _, p := range s.consumers() {
		for {
			ms, err := scrape(ctx, "http://"+p.addr, s.token)
			if err == nil && int(ms.sum("brooks_consumer_assigned_partitions", nil)) >= s.partitions {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("bench: %s did not take the %d partitions of %s within %v (last error: %v)", p.Name, s.partitions, s.topic, limit, err)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(250 * time.Millisecond):
			}
		}
	}
	return nil
}

// stop ends every component with SIGTERM (in reverse start order) and
// SIGKILL after 30 s.
func (s *stack) stop() {
	for i := len(s.procs) - 1; i >= 0; i-- {
		p := s.procs[i]
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, p := range s.procs {
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
			s.log.Warn("component did not stop on SIGTERM; killing it", "component", p.Name)
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
	s.procs = nil
}

// cleanup deletes the run's topic, keyspace, indices and archive: the
// run's report stays.
func (s *stack) cleanup(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c := &kafka.Client{Addr: kafka.TCP(s.brokers...), Timeout: 20 * time.Second}
	resp, err := c.DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: []string{s.topic}})
	if err == nil {
		err = errors.Join(mapErrors(resp.Errors)...)
	}
	if err != nil {
		s.log.Warn("deleting the run's topic failed", "topic", s.topic, "err", err)
	}
	if err := dropKeyspace(ctx, s.cassandra, s.keyspace); err != nil {
		s.log.Warn("dropping the run's keyspace failed", "keyspace", s.keyspace, "err", err)
	}
	if err := deleteIndices(ctx, s.elastic, s.indexPrefix); err != nil {
		s.log.Warn("deleting the run's indices failed", "prefix", s.indexPrefix, "err", err)
	}
	if err := os.RemoveAll(filepath.Join(s.dir, "archive")); err != nil {
		s.log.Warn("deleting the run's archive failed", "err", err)
	}
}

func mapErrors(m map[string]error) []error {
	var out []error
	for k, e := range m {
		if e != nil {
			out = append(out, fmt.Errorf("%s: %w", k, e))
		}
	}
	return out
}

// lastLines is the last n lines of b, for error messages.
func lastLines(b []byte, n int) string {
	end := len(b)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == '\n' && i < len(b)-1 {
			n--
			if n == 0 {
				return string(b[i+1 : end])
			}
		}
	}
	return string(b)
}
