// go-v1 driver for imds-harness: the AWS SDK for Go v1 (Debian's aws-sdk-go 1.44.133)
// behind the JSON-lines protocol (protocol.go), built with guard.go.
//
// A session is a session.Session from session.NewSession (with the sanitised environment
// and empty AWS files its credential chain ends at ec2rolecreds, the EC2 metadata client
// reading AWS_EC2_METADATA_SERVICE_ENDPOINT); a client is sts.New(sess), so clients of one
// session share its credentials, as in an application. The STS endpoint is set in code.
// The HTTP client is the SDK's default (net/http's default transport, guarded), so the
// metadata client keeps its own 1 s timeout and 2 retries. The retryer's jitter draws from
// the SDK's internal sdkrand.SeededRand, which the scenario's seed seeds.

package main

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"net/http"
	"os"
	"runtime"
	"strings"
	"time"
	_ "unsafe" // go:linkname, to seed the SDK's internal RNG

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/awserr"
	awsrequest "github.com/aws/aws-sdk-go/aws/request"
	"github.com/aws/aws-sdk-go/aws/session"
	"github.com/aws/aws-sdk-go/service/sts"
)

// sdkSeededRand is aws-sdk-go's internal/sdkrand.SeededRand (retry jitter).
//
//go:linkname sdkSeededRand github.com/aws/aws-sdk-go/internal/sdkrand.SeededRand
var sdkSeededRand *rand.Rand

// v1Settings are the go-v1 driver's typed settings (harness/src/driver/settings_go.rs).
type v1Settings struct {
	// aws.Config.MaxRetries: retries per API call (the metadata client keeps its own 2
	// unless http_timeout_ms is set).
	MaxRetries *int `json:"max_retries"`
	// The session's http.Client Timeout, milliseconds. A session HTTP client of its own
	// makes the EC2 metadata client use it (and MaxRetries) instead of its 1 s / 2 retries
	// (aws/ec2metadata/service.go NewClient).
	HTTPTimeoutMs *int64 `json:"http_timeout_ms"`
}

type goV1 struct {
	r        request
	settings v1Settings
	sess     *session.Session
	client   *sts.STS
}

func newSDK() sdk { return &goV1{} }

func (g *goV1) version() string {
	return fmt.Sprintf("go-v1 aws-sdk-go %s (%s)", aws.SDKVersion, runtime.Version())
}

func (g *goV1) configure(r request) error {
	g.r = r
	if len(r.Settings) > 0 {
		if err := json.Unmarshal(r.Settings, &g.settings); err != nil {
			return err
		}
	}
	if r.Seed != nil {
		sdkSeededRand.Seed(int64(*r.Seed))
	}
	os.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", strings.TrimRight(r.ImdsEndpoint, "/")+"/")
	for name, value := range r.ContainerEnv {
		os.Setenv(name, value)
	}
	return g.newSession()
}

func (g *goV1) newSession() error {
	// The SDK's default logger writes to stdout (aws.NewDefaultLogger), which is the
	// protocol's: what it logs (with the default LogOff, only the lines it always logs,
	// such as session's "Ignoring, HTTP credential provider invalid endpoint host") goes
	// to the harness as sdk_warnings instead.
	cfg := aws.NewConfig().WithRegion(g.r.Region).WithLogger(aws.LoggerFunc(func(args ...interface{}) {
		recordWarning("log", "aws-sdk-go", fmt.Sprintln(args...))
	}))
	if g.settings.MaxRetries != nil {
		cfg = cfg.WithMaxRetries(*g.settings.MaxRetries)
	}
	if g.settings.HTTPTimeoutMs != nil {
		cfg = cfg.WithHTTPClient(&http.Client{Timeout: time.Duration(*g.settings.HTTPTimeoutMs) * time.Millisecond})
	}
	sess, err := session.NewSession(cfg)
	if err != nil {
		return err
	}
	g.sess = sess
	return nil
}

func (g *goV1) newClient() error {
	g.client = sts.New(g.sess, aws.NewConfig().WithEndpoint(g.r.StsEndpoint))
	// Every attempt's request carries the call id.
	g.client.Handlers.Send.PushFront(func(req *awsrequest.Request) {
		if id, _ := currentCallID.Load().(string); id != "" {
			req.HTTPRequest.Header.Set(callIDHeader, id)
		}
	})
	return nil
}

func (g *goV1) call() (string, *string, *time.Time, error) {
	out, err := g.client.GetCallerIdentity(&sts.GetCallerIdentityInput{})
	if err != nil {
		return "", nil, nil, err
	}
	var key *string
	if v, err := g.client.Config.Credentials.Get(); err == nil {
		key = &v.AccessKeyID
	}
	// credentials.Credentials.ExpiresAt: the expiry the cached provider holds.
	var expires *time.Time
	if at, err := g.client.Config.Credentials.ExpiresAt(); err == nil {
		expires = &at
	}
	return aws.StringValue(out.Arn), key, expires, nil
}

func (g *goV1) dropClient() { g.client = nil }

// kind is the SDK's own name for err: its awserr code (NoCredentialProviders,
// RequestError, ExpiredToken, ...).
func (g *goV1) kind(err error) string {
	if a, ok := err.(awserr.Error); ok {
		return a.Code()
	}
	return "Error"
}
