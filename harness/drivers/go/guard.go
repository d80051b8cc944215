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
	"os"
	"strings"
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
	ip := net.ParseIP(host)
	if ip != nil && (ip.IsLoopback() || linkLocal.allowed[ip.String()]) {
		return nil
	}
	why := ""
	if ip != nil && ip.IsLinkLocalUnicast() {
		why = " (link-local: " + linkLocal.whyNot + ")"
	}
	refusal := fmt.Errorf("%s to %s:%s: drivers may only reach the mocks on loopback%s", guardMark, host, port, why)
	lastBlocked.Store(refusal.Error())
	return refusal
}

// linkLocal is what the guard allows beyond loopback, read once at start: in a
// link-local cell the harness runs the process in a network namespace of the cell's own
// and sets IMDS_HARNESS_NETNS, IMDS_HARNESS_HOST_NETNS and IMDS_HARNESS_LINK_LOCAL; the
// listed 169.254.0.0/16 addresses are then allowed, but only if this process's own
// namespace (/proc/self/ns/net) is the one named, is not the harness's, and has no
// interface but lo (/proc/self/net/dev): the variables alone never open anything.
var linkLocal = linkLocalAllowed()

type linkLocalSet struct {
	allowed map[string]bool
	whyNot  string
}

func linkLocalAllowed() linkLocalSet {
	none := func(why string) linkLocalSet { return linkLocalSet{allowed: map[string]bool{}, whyNot: why} }
	netns, listed := os.Getenv("IMDS_HARNESS_NETNS"), os.Getenv("IMDS_HARNESS_LINK_LOCAL")
	if netns == "" || listed == "" {
		return none("not a link-local cell")
	}
	own, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		return none("cannot read this process's network namespace: " + err.Error())
	}
	dev, err := os.ReadFile("/proc/self/net/dev")
	if err != nil {
		return none("cannot read this process's network namespace: " + err.Error())
	}
	if own != netns || own == os.Getenv("IMDS_HARNESS_HOST_NETNS") {
		return none(fmt.Sprintf("this process is in %s, not the cell's namespace %s", own, netns))
	}
	var ifaces []string
	for i, line := range strings.Split(string(dev), "\n") {
		if i >= 2 && strings.Contains(line, ":") {
			ifaces = append(ifaces, strings.TrimSpace(strings.SplitN(line, ":", 2)[0]))
		}
	}
	if len(ifaces) != 1 || ifaces[0] != "lo" {
		return none(fmt.Sprintf("this namespace has interfaces %s, not only lo", strings.Join(ifaces, ",")))
	}
	set := none("not one of the cell's link-local addresses")
	for _, a := range strings.Split(listed, ",") {
		if ip := net.ParseIP(a); ip != nil && ip.To4() != nil && ip.IsLinkLocalUnicast() {
			set.allowed[ip.String()] = true
		}
	}
	return set
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
