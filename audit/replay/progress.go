package replay

import (
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// Progress is told how much work there is and how much is done; replay
// and rebuild report the archive events they read.
type Progress interface {
	Start(total int64)
	Add(n int64)
	Finish()
}

// NewProgress returns a progress bar with rate and ETA on w when w is a
// terminal, and otherwise a Progress that logs a plain line every interval
// (and at the end) with done, total, rate and ETA. what names the work
// ("replay acme.example").
func NewProgress(w io.Writer, log *slog.Logger, what string, interval time.Duration) Progress {
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return &barProgress{w: w, what: what}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &logProgress{log: log, what: what, every: interval}
}

// barProgress draws github.com/schollz/progressbar on a terminal.
type barProgress struct {
	w    io.Writer
	what string
	bar  *progressbar.ProgressBar
}

func (b *barProgress) Start(total int64) {
	b.bar = progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(b.w),
		progressbar.OptionSetDescription(b.what),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("events"),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
}

func (b *barProgress) Add(n int64) {
	if b.bar != nil {
		_ = b.bar.Add64(n)
	}
}

func (b *barProgress) Finish() {
	if b.bar != nil {
		_ = b.bar.Finish()
	}
}

// logProgress logs "progress" lines for logs and pipes.
type logProgress struct {
	log   *slog.Logger
	what  string
	every time.Duration

	mu          sync.Mutex
	total, done int64
	start, last time.Time
}

func (l *logProgress) Start(total int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total, l.done = total, 0
	l.start = time.Now()
	l.last = l.start
	l.log.Info("progress", "what", l.what, "done", 0, "total", total)
}

func (l *logProgress) Add(n int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.done += n
	if now := time.Now(); l.every > 0 && now.Sub(l.last) >= l.every {
		l.last = now
		l.line("progress")
	}
}

func (l *logProgress) Finish() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.line("progress done")
}

// line logs done/total with the rate so far and the time left at that rate.
func (l *logProgress) line(msg string) {
	el := time.Since(l.start)
	rate := 0.0
	if el > 0 {
		rate = float64(l.done) / el.Seconds()
	}
	eta := "unknown"
	if rate > 0 && l.total >= l.done {
		eta = time.Duration(float64(l.total-l.done) / rate * float64(time.Second)).Round(time.Second).String()
	}
	l.log.Info(msg, "what", l.what, "done", l.done, "total", l.total, "events_per_s", int64(rate), "elapsed", el.Round(time.Millisecond).String(), "eta", eta)
}
