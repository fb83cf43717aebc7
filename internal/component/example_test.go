package component_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"

	"github.com/brooksdata/brooks/internal/component"
)

// A component with one route, one dependency and one worker: Run serves
// until its context ends, then stops the worker and the server.
func ExampleRunner() {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	r := component.New(component.Options{Name: "example", Listener: ln})
	r.Handle("GET /hello", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "hello\n") }))
	r.AddReadyCheck("store", func(context.Context) error { return nil })
	ctx, stop := context.WithCancel(context.Background())
	r.Go(component.Work, "worker", func(wctx context.Context) error {
		for _, path := range []string{"/hello", "/readyz", "/healthz"} {
			resp, err := http.Get("http://" + ln.Addr().String() + path)
			if err != nil {
				return err
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			fmt.Printf("%s %d %s", path, resp.StatusCode, b)
		}
		stop()        // as SIGTERM would
		<-wctx.Done() // the runner stops this phase
		fmt.Println("worker flushed")
		return nil
	})
	fmt.Println("run:", r.Run(ctx))
	// Output:
	// /hello 200 hello
	// /readyz 200 ready
	// /healthz 200 ok
	// worker flushed
	// run: <nil>
}
