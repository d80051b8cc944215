// The loopback guard of the Go drivers: every TCP connection the process makes (the
// SDK's own HTTP clients, net/http's default transport) goes through a dialer whose
// Control hook refuses any address that is not loopback, before connect(2), and the DNS
// resolver makes no query at all.
// Go v2 1.17.1 ignores AWS_ENDPOINT_URL_STS (measured), so an endpoint set anywhere but
// in code would otherwise reach the real AWS; nothing may ever leave the machine.

package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"syscall"
	"time"
)

// guardMark starts every refusal; the protocol answers an error carrying it as
// driver_error (a misrouted endpoint), never as an SDK error kind.
const guardMark = "imds-harness blocked a connection"

// guardControl is a net.Dialer Control hook: address is the resolved IP:port.
func guardControl(network, address string, _ syscall.RawConn) error {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("%s to %q: %v", guardMark, address, err)
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	refusal := fmt.Errorf("%s to %s:%s: drivers may only reach the mocks on loopback", guardMark, host, port)
	lastBlocked.Store(refusal.Error())
	return refusal
}

// lastBlocked is the latest refusal; an SDK may swallow the dial error (Go v1's
// credential chain answers NoCredentialProviders), so the protocol checks this after
// every operation instead of trusting the error it gets.
var lastBlocked atomic.Value

// takeBlocked returns the refusal since the last call ("" for none) and forgets it.
func takeBlocked() string {
	s, _ := lastBlocked.Swap("").(string)
	return s
}

// guardDialer returns a dialer with net/http's default timeouts and the guard.
func guardDialer() *net.Dialer {
	return &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: guardControl}
}

// installGuard puts the guard on net/http's default transport (used by every http.Client
// without a transport of its own, as Go v1's are) and on the DNS resolver.
func installGuard() {
	if t, ok := http.DefaultTransport.(*http.Transport); ok {
		t.DialContext = guardDialer().DialContext
		t.Proxy = nil
	}
	// No DNS at all (a loopback stub resolver would forward the query off the machine):
	// the mocks are on IP literals, and /etc/hosts still answers localhost.
	net.DefaultResolver = &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
			refusal := fmt.Errorf("%s: a DNS query to %s: drivers may only reach the mocks on loopback", guardMark, address)
			lastBlocked.Store(refusal.Error())
			return nil, refusal
		},
	}
}
