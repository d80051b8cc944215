// go-v2 driver for imds-harness: the AWS SDK for Go v2 (Debian's aws-sdk-go-v2 1.17.1:
// config 1.17.10, credentials 1.12.23, feature/ec2/imds 1.12.19, service/sts 1.17.1)
// behind the JSON-lines protocol (protocol.go), built with guard.go. The greeting names
// the versions compiled in: aws.SDKVersion, and service/sts's from the user agent its
// client sends ("api/sts/VERSION"; the other modules export no version).
//
// A session is an aws.Config from config.LoadDefaultConfig (with the sanitised
// environment and empty AWS files its credential chain ends at ec2rolecreds, wrapped in
// aws.CredentialsCache); a client is sts.NewFromConfig(cfg), so clients of one config
// share its credentials cache, as in an application. The IMDS endpoint comes from
// AWS_EC2_METADATA_SERVICE_ENDPOINT (the SDK reads it); the STS endpoint is set in code,
// as this version ignores AWS_ENDPOINT_URL_STS. The SDK's randomness (retry jitter, the
// expiry extension of ec2rolecreds) reads crypto/rand through an internal package: it
// cannot be seeded, so the scenario's seed is not used.

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"reflect"
	"runtime"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

// v2Settings are the go-v2 driver's typed settings (harness/src/driver/settings_go.rs).
type v2Settings struct {
	// config.WithRetryMaxAttempts: attempts per API call (STS and IMDS clients).
	RetryMaxAttempts *int `json:"retry_max_attempts"`
	// config.WithRetryMode: "standard" or "adaptive".
	RetryMode *string `json:"retry_mode"`
}

type goV2 struct {
	r        request
	settings v2Settings
	cfg      aws.Config
	// loadErr is what config.LoadDefaultConfig answered when it failed (e.g. 1.17.1's
	// "invalid endpoint host, ..., only loopback hosts are allowed" for a FULL_URI to
	// 169.254.170.23): the application has no config, so every new client fails with it
	// until a new session loads one.
	loadErr error
	client  *sts.Client
}

// loadError marks an error of config.LoadDefaultConfig (the SDK's, not the driver's).
type loadError struct{ error }

func (e loadError) Unwrap() error { return e.error }

func newSDK() sdk { return &goV2{} }

func (g *goV2) version() string {
	return fmt.Sprintf("go-v2 aws-sdk-go-v2 %s (service/sts %s) (%s)", aws.SDKVersion, stsModuleVersion(), runtime.Version())
}

// uaProbe is an HTTP client that records a request's User-Agent and sends nothing.
type uaProbe struct{ ua string }

func (p *uaProbe) Do(r *http.Request) (*http.Response, error) {
	p.ua = r.Header.Get("User-Agent")
	return nil, errors.New("imds-harness version probe: not sent")
}

// stsModuleVersion is the version service/sts puts in its user agent ("api/sts/X"),
// read from one request built with static credentials and never sent.
func stsModuleVersion() string {
	probe := &uaProbe{}
	client := sts.New(sts.Options{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("probe", "probe", ""),
		HTTPClient:       probe,
		Retryer:          aws.NopRetryer{},
		EndpointResolver: sts.EndpointResolverFromURL("http://127.0.0.1:9"),
	})
	_, _ = client.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	for _, part := range strings.Fields(probe.ua) {
		if strings.HasPrefix(part, "api/sts/") {
			return strings.TrimPrefix(part, "api/sts/")
		}
	}
	return "unknown"
}

func (g *goV2) configure(r request) error {
	g.r = r
	if len(r.Settings) > 0 {
		if err := json.Unmarshal(r.Settings, &g.settings); err != nil {
			return err
		}
	}
	os.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", strings.TrimRight(r.ImdsEndpoint, "/"))
	for name, value := range r.ContainerEnv {
		os.Setenv(name, value)
	}
	// The SDK refusing its configuration is its behaviour, answered at new_client; any
	// other error is the driver's.
	var load loadError
	if err := g.newSession(); err != nil && !errors.As(err, &load) {
		return err
	}
	return nil
}

// newSession loads a new aws.Config, as an application starting up does.
func (g *goV2) newSession() error {
	// The SDK's default HTTP client, plus the loopback guard on its dialer; the IMDS
	// client keeps its own 250 ms dial / 500 ms response-header timeouts on top of it.
	httpClient := awshttp.NewBuildableClient().WithDialerOptions(func(d *net.Dialer) {
		d.Control = guardControl
	}).WithTransportOptions(func(t *http.Transport) { t.Proxy = nil })
	opts := []func(*config.LoadOptions) error{
		config.WithRegion(g.r.Region),
		config.WithHTTPClient(httpClient),
		// The container credentials client (endpointcreds) does not take the config's
		// HTTP client: in 1.17.1 it builds awshttp.NewBuildableClient() of its own, whose
		// dialer the guard never saw (measured: RELATIVE_URI reached 169.254.170.2 in
		// harness/tests/link_local.rs). It gets the same guarded client, the SDK's
		// default with the guard on its dialer, so its behaviour is otherwise the same.
		config.WithEndpointCredentialOptions(func(o *endpointcreds.Options) {
			o.HTTPClient = httpClient
		}),
	}
	if g.settings.RetryMaxAttempts != nil {
		opts = append(opts, config.WithRetryMaxAttempts(*g.settings.RetryMaxAttempts))
	}
	if g.settings.RetryMode != nil {
		mode, err := aws.ParseRetryMode(*g.settings.RetryMode)
		if err != nil {
			return err
		}
		opts = append(opts, config.WithRetryMode(mode))
	}
	cfg, err := config.LoadDefaultConfig(context.Background(), opts...)
	if err != nil {
		g.loadErr = err
		return loadError{err}
	}
	g.cfg, g.loadErr = cfg, nil
	return nil
}

// callIDDoer adds the call id to every request the STS client sends.
type callIDDoer struct{ inner sts.HTTPClient }

func (d callIDDoer) Do(r *http.Request) (*http.Response, error) {
	if id, _ := currentCallID.Load().(string); id != "" {
		r = r.Clone(r.Context())
		r.Header.Set(callIDHeader, id)
	}
	return d.inner.Do(r)
}

func (g *goV2) newClient() error {
	if g.loadErr != nil {
		return g.loadErr
	}
	sess := g.cfg
	g.client = sts.NewFromConfig(sess, func(o *sts.Options) {
		o.EndpointResolver = sts.EndpointResolverFromURL(g.r.StsEndpoint)
		o.HTTPClient = callIDDoer{inner: sess.HTTPClient}
	})
	return nil
}

func (g *goV2) call() (string, *string, *time.Time, error) {
	ctx := context.Background()
	out, err := g.client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", nil, nil, err
	}
	var key *string
	var expires *time.Time
	if creds, err := g.cfg.Credentials.Retrieve(ctx); err == nil {
		key = &creds.AccessKeyID
		// aws.Credentials.Expires, as the CredentialsCache holds it.
		if creds.CanExpire {
			at := creds.Expires
			expires = &at
		}
	}
	return aws.ToString(out.Arn), key, expires, nil
}

func (g *goV2) dropClient() { g.client = nil }

// kind is the SDK's own name for err: the service's error code (ExpiredToken, ...) when
// STS answered, else the type name of the outermost error of the SDK's own (declared in
// an aws-sdk-go-v2 or smithy-go package) below the operation's wrappers
// (smithy.OperationError, retry.MaxAttemptsError): SigningError when the credentials
// could not be retrieved, RequestSendError when STS could not be reached.
func (g *goV2) kind(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	for e := err; e != nil; e = errors.Unwrap(e) {
		t := reflect.TypeOf(e)
		for t.Kind() == reflect.Ptr {
			t = t.Elem()
		}
		if !strings.HasPrefix(t.PkgPath(), "github.com/aws/") {
			continue
		}
		if t.Name() == "OperationError" || t.Name() == "MaxAttemptsError" {
			continue
		}
		return t.Name()
	}
	return "Error"
}
