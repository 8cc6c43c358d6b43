// The hub over NATS from Go (nats.go): find the service, verify an identity, read events.
//
//	go run . find                       # $SRV.INFO linkage-hub: version, endpoints
//	go run . verify <idNumber> <name>   # hub.v1.civil-registry.identity.verify
//	go run . events [max [subject]]     # EVENTS (default subjects events.>) as a durable consumer named as you
//
// Environment: NATS_URL (default nats://127.0.0.1:4222), NATS_CREDS (the .creds file that
// `npx linkage-hub nats add-user <name> --role caller|consumer` wrote: <name> is your user, so
// your inbox prefix is _INBOX_<name> and your durable consumer is <name>; without credentials,
// NATS_USER_NAME, default "example"), HUB_URL (default
// http://127.0.0.1:3000), HUB_CLIENT_ID (default test-partner) and HUB_CLIENT_SECRET (the
// partner whose OAuth token the calls carry).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nats.go/micro"
)

const service = "linkage-hub"

func env(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

// userName is the NATS user: the .creds file's name (add-user writes <name>.creds).
func userName() string {
	if creds := os.Getenv("NATS_CREDS"); creds != "" {
		return strings.TrimSuffix(filepath.Base(creds), ".creds")
	}
	return env("NATS_USER_NAME", "example")
}

func connect() (*nats.Conn, error) {
	// A user may subscribe only below its own inbox prefix: replies come there.
	options := []nats.Option{nats.Name("hub-client-go " + userName()), nats.NoReconnect(), nats.CustomInboxPrefix("_INBOX_" + userName())}
	if creds := os.Getenv("NATS_CREDS"); creds != "" {
		options = append(options, nats.UserCredentials(creds))
	}
	// NATS_URL may list the servers of a cluster, comma-separated: Connect takes that as it is.
	return nats.Connect(env("NATS_URL", "nats://127.0.0.1:4222"), options...)
}

// partnerToken gets an access token: POST /v1/oauth/token (client credentials, HTTP Basic).
func partnerToken() (string, error) {
	request, err := http.NewRequest(http.MethodPost, env("HUB_URL", "http://127.0.0.1:3000")+"/v1/oauth/token",
		strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
	if err != nil {
		return "", err
	}
	request.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	request.SetBasicAuth(env("HUB_CLIENT_ID", "test-partner"), os.Getenv("HUB_CLIENT_SECRET"))
	answer, err := http.DefaultClient.Do(request)
	if err != nil {
		return "", err
	}
	defer answer.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(answer.Body).Decode(&body); err != nil || body.AccessToken == "" {
		return "", fmt.Errorf("no access token from the hub (HTTP %d); is HUB_CLIENT_SECRET set?", answer.StatusCode)
	}
	return body.AccessToken, nil
}

func find(nc *nats.Conn) error {
	reply, err := nc.Request("$SRV.INFO."+service, nil, 5*time.Second)
	if errors.Is(err, nats.ErrNoResponders) {
		return fmt.Errorf("service %s not found: no responders on $SRV.INFO.%s (is the hub running?)", service, service)
	} else if err != nil {
		return err
	}
	var info micro.Info
	if err := json.Unmarshal(reply.Data, &info); err != nil {
		return err
	}
	fmt.Printf("service %s %s (%d endpoints)\n", info.Name, info.Version, len(info.Endpoints))
	for _, endpoint := range info.Endpoints {
		metadata, _ := json.Marshal(endpoint.Metadata)
		fmt.Printf("  %s  %s\n", endpoint.Subject, metadata)
	}
	return nil
}

func verify(nc *nats.Conn, idNumber, name string) error {
	token, err := partnerToken()
	if err != nil {
		return err
	}
	body, _ := json.Marshal(map[string]string{"idNumber": idNumber, "name": name})
	request := nats.NewMsg("hub.v1.civil-registry.identity.verify")
	request.Data = body
	request.Header.Set("Authorization", "Bearer "+token)
	request.Header.Set("Data-Purpose", "identity-verification")
	reply, err := nc.RequestMsg(request, 10*time.Second)
	if err != nil {
		return err
	}
	if code := reply.Header.Get(micro.ErrorCodeHeader); code != "" {
		// A refusal: the HTTP status and title in headers, the RFC 9457 problem in the body.
		return fmt.Errorf("%s %s\n%s", code, reply.Header.Get(micro.ErrorHeader), reply.Data)
	}
	fmt.Println(string(reply.Data))
	return nil
}

func events(nc *nats.Conn, max int, subject string) error {
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	durable := userName()
	consumer, err := js.CreateOrUpdateConsumer(ctx, "EVENTS", jetstream.ConsumerConfig{
		Durable:       durable,
		DeliverPolicy: jetstream.DeliverAllPolicy, // from the start of the stream, then where it stopped
		AckPolicy:     jetstream.AckExplicitPolicy,
		FilterSubject: subject,
		MaxDeliver:    5,
	})
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) {
		// The server drops a request its permissions refuse: what the client sees is no answer.
		return fmt.Errorf("no answer making the durable consumer %s on EVENTS: is this a consumer user (npx linkage-hub nats add-user %s --role consumer)?", durable, durable)
	}
	if err != nil {
		return err
	}
	count := 0
	for count < max {
		batch, err := consumer.Fetch(min(64, max-count), jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			return err
		}
		got := 0
		for message := range batch.Messages() {
			var event struct{ Type, ID string }
			meta, _ := message.Metadata()
			got++
			if err := json.Unmarshal(message.Data(), &event); err != nil {
				// Not a CloudEvent: told, and never delivered again (a real consumer may dead-letter it).
				fmt.Printf("event %d is not JSON (%d bytes): terminated\n", meta.Sequence.Stream, len(message.Data()))
				if err := message.Term(); err != nil {
					return err
				}
				continue
			}
			fmt.Printf("event %d %s %s\n", meta.Sequence.Stream, event.Type, event.ID)
			if err := message.Ack(); err != nil { // after handling it: the next run resumes after it
				return err
			}
		}
		if err := batch.Error(); err != nil {
			return err
		}
		count += got
		if got == 0 {
			break // nothing more for now
		}
	}
	fmt.Printf("read %d events as durable consumer %s on EVENTS\n", count, durable)
	return nil
}

func run(args []string) error {
	nc, err := connect()
	if err != nil {
		return err
	}
	defer nc.Close()
	switch {
	case len(args) == 1 && args[0] == "find":
		return find(nc)
	case len(args) == 3 && args[0] == "verify":
		return verify(nc, args[1], args[2])
	case len(args) >= 1 && len(args) <= 3 && args[0] == "events":
		max, subject := 20, "events.>"
		if len(args) >= 2 {
			if max, err = strconv.Atoi(args[1]); err != nil {
				return err
			}
		}
		if len(args) == 3 {
			subject = args[2]
		}
		return events(nc, max, subject)
	}
	return errors.New("usage: go run . find | verify <idNumber> <name> | events [max [subject]]")
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "error", err)
		os.Exit(1)
	}
}
