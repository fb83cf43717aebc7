package pixel

import "testing"

func TestNormalizeURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://Acme.Example/post/1", "https://acme.example/post/1"},
		{"HTTPS://ACME.example:443/post/1#comments", "https://acme.example/post/1"},
		{"http://acme.example:80", "http://acme.example/"},
		{"http://acme.example:8080/x", "http://acme.example:8080/x"},
		{"https://acme.example/p?utm_source=tw&utm_campaign=x&b=2&a=1&fbclid=z", "https://acme.example/p?a=1&b=2"},
		{"https://acme.example/p?utm_source=tw", "https://acme.example/p"},
		{"https://user:pw@acme.example/p", "https://acme.example/p"},
		{"  https://acme.example/Post/A  ", "https://acme.example/Post/A"},
		{"not a url", "not a url"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := NormalizeURL(tt.in); got != tt.want {
			t.Errorf("NormalizeURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := NormalizeURL(NormalizeURL(tt.in)); got != NormalizeURL(tt.in) {
			t.Errorf("NormalizeURL not idempotent on %q: %q", tt.in, got)
		}
	}
}

func TestHostAndCampaign(t *testing.T) {
	if got := Host("https://WWW.Google.com:443/search?q=x"); got != "google.com" {
		t.Errorf("Host = %q", got)
	}
	if got := Campaign("https://a.example/p?utm_campaign=black-friday&x=1"); got != "black-friday" {
		t.Errorf("Campaign = %q", got)
	}
}
