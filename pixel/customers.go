package pixel

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Customer is one tracked site, as the operator configures it.
type Customer struct {
	// ID is the Snowplow app id (aid) trackers send.
	ID string `yaml:"id"`
	// Name is for people.
	Name string `yaml:"name,omitempty"`
	// PostPattern is a regular expression matched against the normalised
	// URL; legacy tracks only URLs that match it.
	PostPattern string `yaml:"post_pattern"`
	// HeartbeatSeconds is the page-ping interval of the customer's tracker;
	// engaged_seconds = page pings × HeartbeatSeconds.
	HeartbeatSeconds int `yaml:"heartbeat_seconds"`
	// Timezone is the customer's display time zone (IANA name); buckets are
	// always UTC.
	Timezone string `yaml:"timezone,omitempty"`

	post *regexp.Regexp
	loc  *time.Location
}

// IsPost reports whether the normalised URL is a post, legacy's unit of
// tracking.
func (c *Customer) IsPost(normalizedURL string) bool {
	return c.post != nil && c.post.MatchString(normalizedURL)
}

// Location is the customer's display time zone (UTC when unset).
func (c *Customer) Location() *time.Location {
	if c.loc == nil {
		return time.UTC
	}
	return c.loc
}

// Customers is the registry of known customers.
type Customers struct {
	byID  map[string]*Customer
	order []string
}

type customersFile struct {
	Customers []*Customer `yaml:"customers"`
}

// ErrUnknownCustomer is returned for an aid that is not in the registry.
var ErrUnknownCustomer = errors.New("unknown customer")

// LoadCustomers reads a customers YAML file (see ParseCustomers).
func LoadCustomers(path string) (*Customers, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read customers: %w", err)
	}
	c, err := ParseCustomers(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// ParseCustomers parses the customers file format:
//
//	customers:
//	  - id: acme.example
//	    name: Acme News
//	    post_pattern: '^https://acme\.example/post/'
//	    heartbeat_seconds: 10
//	    timezone: America/New_York
func ParseCustomers(b []byte) (*Customers, error) {
	var f customersFile
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("parse customers: %w", err)
	}
	return NewCustomers(f.Customers...)
}

// NewCustomers validates and indexes customers.
func NewCustomers(list ...*Customer) (*Customers, error) {
	cs := &Customers{byID: map[string]*Customer{}}
	for i, c := range list {
		if c == nil || strings.TrimSpace(c.ID) == "" {
			return nil, fmt.Errorf("customer %d: id is required", i+1)
		}
		if _, dup := cs.byID[c.ID]; dup {
			return nil, fmt.Errorf("customer %q: listed twice", c.ID)
		}
		if c.PostPattern == "" {
			return nil, fmt.Errorf("customer %q: post_pattern is required", c.ID)
		}
		re, err := regexp.Compile(c.PostPattern)
		if err != nil {
			return nil, fmt.Errorf("customer %q: post_pattern: %w", c.ID, err)
		}
		c.post = re
		if c.HeartbeatSeconds <= 0 {
			return nil, fmt.Errorf("customer %q: heartbeat_seconds must be positive", c.ID)
		}
		if c.Timezone != "" {
			loc, err := time.LoadLocation(c.Timezone)
			if err != nil {
				return nil, fmt.Errorf("customer %q: timezone: %w", c.ID, err)
			}
			c.loc = loc
		}
		cs.byID[c.ID] = c
		cs.order = append(cs.order, c.ID)
	}
	return cs, nil
}

// Get returns the customer with id, or ErrUnknownCustomer.
func (cs *Customers) Get(id string) (*Customer, error) {
	if c, ok := cs.byID[id]; ok {
		return c, nil
	}
	return nil, fmt.Errorf("%w %q", ErrUnknownCustomer, id)
}

// Known reports whether id is a customer of the registry.
func (cs *Customers) Known(id string) bool {
	_, ok := cs.byID[id]
	return ok
}

// IDs lists customer ids in file order.
func (cs *Customers) IDs() []string { return slices.Clone(cs.order) }
