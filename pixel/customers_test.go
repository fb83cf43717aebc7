package pixel

import (
	"errors"
	"strings"
	"testing"
)

func TestParseCustomers(t *testing.T) {
	cs, err := ParseCustomers([]byte(`
customers:
  - id: acme.example
    post_pattern: '^https://acme\.example/post/'
    heartbeat_seconds: 10
    timezone: America/New_York
`))
	if err != nil {
		t.Fatal(err)
	}
	c, err := cs.Get("acme.example")
	if err != nil {
		t.Fatal(err)
	}
	if !c.IsPost("https://acme.example/post/1") || c.IsPost("https://acme.example/about") {
		t.Error("post pattern not applied")
	}
	if c.Location().String() != "America/New_York" {
		t.Errorf("location = %v", c.Location())
	}
	if _, err := cs.Get("nope"); !errors.Is(err, ErrUnknownCustomer) {
		t.Errorf("Get(nope) err = %v", err)
	}
}

func TestParseCustomersErrors(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"no id", "customers: [{post_pattern: x, heartbeat_seconds: 1}]", "id is required"},
		{"dup", "customers: [{id: a, post_pattern: x, heartbeat_seconds: 1}, {id: a, post_pattern: x, heartbeat_seconds: 1}]", "listed twice"},
		{"bad regexp", "customers: [{id: a, post_pattern: '(', heartbeat_seconds: 1}]", "post_pattern"},
		{"no heartbeat", "customers: [{id: a, post_pattern: x}]", "heartbeat_seconds"},
		{"bad tz", "customers: [{id: a, post_pattern: x, heartbeat_seconds: 1, timezone: Mars/Base}]", "timezone"},
		{"unknown key", "customers: [{id: a, post_pattern: x, heartbeat_seconds: 1, colour: red}]", "colour"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseCustomers([]byte(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}
