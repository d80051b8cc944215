// The JSON-lines protocol of harness/src/driver/jsonl.rs, shared by the go-v2 and go-v1
// drivers: one request object per line on stdin, one answer per line on stdout. Each
// driver file provides newSDK(), the SDK behind the protocol.

package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// request is one protocol line from the harness.
type request struct {
	Op           string          `json:"op"`
	ImdsEndpoint string          `json:"imds_endpoint"`
	StsEndpoint  string          `json:"sts_endpoint"`
	Region       string          `json:"region"`
	Settings     json.RawMessage `json:"settings"`
	Seed         *uint64         `json:"seed"`
	CallID       *string         `json:"call_id"`
	// ContainerEnv: the container credential provider's variables ([endpoint]).
	ContainerEnv map[string]string `json:"container_env"`
}

// sdkError is an SDK error as the harness reports it: the SDK's own name and message.
type sdkError struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

// sdk is one AWS SDK for Go behind the protocol.
type sdk interface {
	// version names the SDK and its version, e.g. "go-v2 aws-sdk-go-v2 1.17.1 (go1.19.8)".
	version() string
	// configure points the SDK at the mocks (settings: the driver's typed settings as
	// JSON) and creates the first session/config.
	configure(r request) error
	newSession() error
	// newClient creates a client; credentials_resolved is nil (Go resolves lazily). Its
	// error is the SDK's (go-v2: the session's config did not load), and the calls
	// without a client fail with it.
	newClient() error
	// call runs sts:GetCallerIdentity on the current client.
	// expires: when the credentials the SDK holds after the call expire (nil when they
	// cannot expire or the SDK does not say); neither SDK version here exposes an
	// account id.
	call() (arn string, accessKey *string, expires *time.Time, err error)
	dropClient()
	// kind is the SDK's own name for err.
	kind(err error) string
}

// callIDHeader carries the harness's call id on every STS request of a call.
const callIDHeader = "x-mock-imds-call-id"

// currentCallID is the id of the call in progress ("" between calls).
var currentCallID atomic.Value

// callIDTransport adds the call id to every request it sends (the SDK's own retries
// inside one call included); only the STS clients use it.
type callIDTransport struct{ base http.RoundTripper }

func (t callIDTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if id, _ := currentCallID.Load().(string); id != "" {
		r = r.Clone(r.Context())
		r.Header.Set(callIDHeader, id)
	}
	return t.base.RoundTrip(r)
}

// sdkWarning is one line the SDK logged, as the protocol's "sdk_warnings" carry it.
type sdkWarning struct {
	Level   string `json:"level"`
	Logger  string `json:"logger"`
	Message string `json:"message"`
}

// pendingWarnings are what the SDK logged since the last answer (recordWarning).
var (
	warningsMu      sync.Mutex
	pendingWarnings []sdkWarning
)

// recordWarning keeps a line the SDK logged for the next answer's "sdk_warnings", so it
// reaches the harness and never the protocol's stdout.
func recordWarning(level, logger, message string) {
	warningsMu.Lock()
	defer warningsMu.Unlock()
	pendingWarnings = append(pendingWarnings, sdkWarning{level, logger, strings.TrimSpace(message)})
}

// answer writes one answer line, with the SDK's pending warnings as "sdk_warnings".
func answer(v interface{}) {
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(map[string]string{"driver_error": err.Error()})
	}
	warningsMu.Lock()
	warnings := pendingWarnings
	pendingWarnings = nil
	warningsMu.Unlock()
	if len(warnings) > 0 {
		var obj map[string]interface{}
		if json.Unmarshal(b, &obj) == nil {
			obj["sdk_warnings"] = warnings
			if with, err := json.Marshal(obj); err == nil {
				b = with
			}
		}
	}
	os.Stdout.Write(append(b, '\n'))
}

// driverFault says why err is this driver's own problem (the guard refused a misrouted
// endpoint), or "".
func driverFault(err error) string {
	if err != nil && strings.Contains(err.Error(), guardMark) {
		return "the loopback guard blocked a connection (a misrouted endpoint): " + err.Error()
	}
	return ""
}

func main() {
	installGuard()
	s := newSDK()
	answer(map[string]interface{}{"ready": true, "sdk": s.version()})
	configured, haveClient := false, false
	// clientErr: why the last new_client failed (the calls that follow fail with it).
	var clientErr error
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	for in.Scan() {
		line := strings.TrimSpace(in.Text())
		if line == "" {
			continue
		}
		var r request
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			answer(map[string]string{"driver_error": "request is not JSON: " + err.Error()})
			continue
		}
		switch r.Op {
		case "configure":
			if err := s.configure(r); err != nil {
				answer(map[string]string{"driver_error": "configure: " + err.Error()})
				continue
			}
			configured = true
			answer(map[string]bool{"ok": true})
		case "new_session":
			if err := s.newSession(); err != nil {
				answer(errorAnswer(s, err))
				continue
			}
			answer(map[string]bool{"ok": true})
		case "new_client":
			if !configured {
				answer(map[string]string{"driver_error": "new_client before configure"})
				continue
			}
			if err := s.newClient(); err != nil {
				clientErr, haveClient = err, false
				answer(errorAnswer(s, err))
				continue
			}
			clientErr, haveClient = nil, true
			answer(map[string]interface{}{"ok": true, "credentials_resolved": nil})
		case "call":
			if !haveClient && clientErr != nil {
				// The application has no client: its call fails with what creation answered.
				answer(map[string]sdkError{"error": {Kind: s.kind(clientErr), Message: "no client: creating it failed: " + clientErr.Error()}})
				continue
			}
			if !haveClient {
				answer(map[string]string{"driver_error": "call before new_client"})
				continue
			}
			id := ""
			if r.CallID != nil {
				id = *r.CallID
			}
			currentCallID.Store(id)
			takeBlocked()
			arn, key, expires, err := s.call()
			currentCallID.Store("")
			if err != nil {
				answer(errorAnswer(s, err))
				continue
			}
			if blocked := takeBlocked(); blocked != "" {
				answer(map[string]string{"driver_error": "the loopback guard blocked a connection (a misrouted endpoint): " + blocked})
				continue
			}
			var expiration interface{}
			if expires != nil {
				expiration = expires.UTC().Format(time.RFC3339Nano)
			}
			answer(map[string]interface{}{"arn": arn, "access_key_id": key, "expiration": expiration, "account_id": nil})
		case "drop_client":
			s.dropClient()
			haveClient, clientErr = false, nil
			answer(map[string]bool{"ok": true})
		default:
			answer(map[string]string{"driver_error": fmt.Sprintf("unknown op %q", r.Op)})
		}
	}
}

func errorAnswer(s sdk, err error) interface{} {
	if blocked := takeBlocked(); blocked != "" {
		return map[string]string{"driver_error": "the loopback guard blocked a connection (a misrouted endpoint): " + blocked + "; the SDK answered: " + err.Error()}
	}
	if fault := driverFault(err); fault != "" {
		return map[string]string{"driver_error": fault}
	}
	return map[string]sdkError{"error": {Kind: s.kind(err), Message: err.Error()}}
}
