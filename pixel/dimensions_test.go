package pixel

import "testing"

func TestReferrerCategory(t *testing.T) {
	tests := []struct{ refr, page, want string }{
		{"", "acme.example", RefDirect},
		{"https://www.google.com/search?q=x", "acme.example", RefSearch},
		{"https://news.google.de/", "acme.example", RefSearch},
		{"https://duckduckgo.com/", "acme.example", RefSearch},
		{"https://t.co/abc", "acme.example", RefSocial},
		{"https://m.facebook.com/", "acme.example", RefSocial},
		{"https://acme.example/post/2", "acme.example", RefInternal},
		{"https://blog.acme.example/", "acme.example", RefInternal},
		{"https://www.acme.example/", "acme.example", RefInternal},
		{"https://someblog.example/", "acme.example", RefOther},
		{"https://notgoogle.com/", "acme.example", RefOther},
	}
	for _, tt := range tests {
		if got := ReferrerCategory(tt.refr, tt.page); got != tt.want {
			t.Errorf("ReferrerCategory(%q, %q) = %q, want %q", tt.refr, tt.page, got, tt.want)
		}
	}
}

func TestDevice(t *testing.T) {
	tests := []struct{ ua, want string }{
		{"", DeviceUnknown},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120 Safari/537.36", DeviceDesktop},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148", DeviceMobile},
		{"Mozilla/5.0 (Linux; Android 14; Pixel 8) Mobile Safari/537.36", DeviceMobile},
		{"Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X)", DeviceTablet},
		{"Mozilla/5.0 (Linux; Android 13; SM-X700) Safari/537.36", DeviceTablet},
		{"Googlebot/2.1 (+http://www.google.com/bot.html)", DeviceBot},
	}
	for _, tt := range tests {
		if got := Device(tt.ua); got != tt.want {
			t.Errorf("Device(%q) = %q, want %q", tt.ua, got, tt.want)
		}
	}
}

func TestDims(t *testing.T) {
	e := Event{URL: "https://ACME.example/post/1?utm_campaign=bf#x", Referrer: "https://t.co/x", UserAgent: "Mozilla/5.0 (iPhone)"}
	d := e.Dims()
	want := Dimensions{URL: "https://acme.example/post/1", ReferrerDomain: "t.co", ReferrerCategory: RefSocial, Campaign: "bf", Device: DeviceMobile}
	if d != want {
		t.Errorf("Dims = %+v, want %+v", d, want)
	}
	if d.Get("campaign") != "bf" {
		t.Errorf("Get(campaign) = %q", d.Get("campaign"))
	}
}

// TestDimsMatchesTheParts checks the one-parse Dims against the exported
// one-dimension functions on awkward inputs.
func TestDimsMatchesTheParts(t *testing.T) {
	urls := []string{"", "not a url", " https://WWW.Acme.Example:443/p?utm_campaign=x&b=1#f ", "https://acme.example", "%zz", "mailto:a@b", "https://a.example/p?utm_campaign=&q"}
	refs := []string{"", "https://www.google.com/", "https://acme.example/x", "%zz", "android-app://com.google", "https://sub.acme.example/"}
	for _, u := range urls {
		for _, r := range refs {
			e := Event{URL: u, Referrer: r, UserAgent: "Mozilla/5.0 (iPhone)"}
			want := Dimensions{
				URL:              NormalizeURL(u),
				ReferrerDomain:   ReferrerDomain(r),
				ReferrerCategory: ReferrerCategory(r, Host(u)),
				Campaign:         Campaign(u),
				Device:           Device(e.UserAgent),
			}
			if got := e.Dims(); got != want {
				t.Errorf("Dims(%q, %q) = %+v, want %+v", u, r, got, want)
			}
		}
	}
}

func BenchmarkDims(b *testing.B) {
	e := Event{URL: "https://acme.example/post/12-story?utm_campaign=bf&utm_source=x", Referrer: "https://www.google.com/search?q=x", UserAgent: "Mozilla/5.0 (iPhone)"}
	for b.Loop() {
		e.Dims()
	}
}
