package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/mail"
	"net/smtp"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/idbolt/idbolt/store"
)

// outboundTimeout bounds every call idbolt makes to a service it was
// configured with (a connector's endpoint or SMTP server, an email webhook),
// from dialling to the last byte.
const outboundTimeout = 10 * time.Second

// maxOutboundAnswer bounds how much of an answer is read: only its status
// matters, the rest lets the connection be reused.
const maxOutboundAnswer = 64 << 10

// refuseLinkLocal is a dialer's Control: it refuses link-local and
// unspecified addresses, where cloud metadata services answer, so that a
// tenant's connector cannot be pointed at the instance's credentials. It
// runs after name resolution, on the address actually dialled.
func refuseLinkLocal(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip := net.ParseIP(host)
	if ip == nil || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsUnspecified() || ip.IsMulticast() {
		return fmt.Errorf("address %s is not allowed for outbound calls", host)
	}
	return nil
}

// newOutboundDialer returns the dialer of every outbound connection.
func newOutboundDialer() *net.Dialer {
	return &net.Dialer{Timeout: outboundTimeout, Control: refuseLinkLocal}
}

// newOutboundClient returns the HTTP client of every outbound call: the
// outbound dialer, a 10 s bound on each call, and redirects answered, not
// followed, so a body goes only to the configured URL.
func newOutboundClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = newOutboundDialer().DialContext
	return &http.Client{Transport: tr, Timeout: outboundTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// Logto's message types (its TemplateType) that idbolt sends.
const (
	messageGeneric                = "Generic"
	messageOrganizationInvitation = "OrganizationInvitation"
)

// payloadCode is the key of a message payload's code (Logto's
// SendMessageData), a verification or invitation code, not an error code.
const payloadCode = "code"

// connectorMessage is what a connector sends: Logto's SendMessageData, and
// the JSON body the HTTP connectors POST.
type connectorMessage struct {
	To      string         `json:"to"`
	Type    string         `json:"type"`
	Payload map[string]any `json:"payload"`
	// invitation, set on an organization invitation's email, adds the
	// email webhook's fields to the HTTP body beside Logto's, so that a
	// receiver of the webhook an upgrade turned into a connector keeps
	// working.
	invitation *invitationEmailPayload
	// test marks the message of POST /api/connectors/{factoryId}/test,
	// whose email says so rather than offer a code.
	test bool
}

// body returns the JSON an HTTP connector posts for m.
func (m connectorMessage) body() ([]byte, error) {
	if m.invitation == nil {
		return json.Marshal(m)
	}
	legacy, err := json.Marshal(m.invitation)
	if err != nil {
		return nil, err
	}
	merged := map[string]json.RawMessage{}
	if err := json.Unmarshal(legacy, &merged); err != nil {
		return nil, err
	}
	own, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(own, &merged); err != nil { // to, type and payload are Logto's
		return nil, err
	}
	return json.Marshal(merged)
}

// messenger sends messages through a tenant's connectors. It never logs a
// connector's config or a message's payload, which hold secrets and codes.
// New builds one that every request shares; its fields are only read after.
type messenger struct {
	client *http.Client
	dialer *net.Dialer
	logger *slog.Logger
}

func newMessenger(logger *slog.Logger) *messenger {
	return &messenger{client: newOutboundClient(), dialer: newOutboundDialer(), logger: logger}
}

// errSendFailed is the answer when a connector could not deliver.
func errSendFailed(factory, why string) error {
	return &store.Error{Code: store.EBADGATEWAY, Detail: "connector.general",
		Message: fmt.Sprintf("The %s connector could not send the message: %s.", factory, why)}
}

// send delivers msg through connector c, whose config is in clear
// (store.FindConnectorForSending, store.ResolveConnectorConfig). It returns
// nil once the connector's service took the message, EBADGATEWAY when it
// did not, and the context's error when ctx ends first.
func (m *messenger) send(ctx context.Context, c *store.Connector, msg connectorMessage) error {
	var err error
	switch c.FactoryID {
	case store.FactoryHTTPEmail, store.FactoryHTTPSms:
		err = m.sendHTTP(ctx, c.Config, msg)
	case store.FactorySMTP:
		err = m.sendSMTP(ctx, c.Config, msg)
	default:
		return fmt.Errorf("connector %s: no sender for factory %q", c.ID, c.FactoryID)
	}
	if err != nil && ctx.Err() == nil {
		m.logger.WarnContext(ctx, "connector send failed", "connector", c.ID, "factory", c.FactoryID, "type", msg.Type, "err", err)
		var se *store.Error
		if errors.As(err, &se) {
			return se
		}
		return errSendFailed(c.FactoryID, err.Error())
	}
	return ctx.Err()
}

func configString(config map[string]any, key string) string {
	s, _ := config[key].(string)
	return s
}

// sendHTTP POSTs msg as JSON to the endpoint, as Logto's HTTP email and
// SMS connectors do.
func (m *messenger) sendHTTP(ctx context.Context, config map[string]any, msg connectorMessage) error {
	body, err := msg.body()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, outboundTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, configString(config, "endpoint"), bytes.NewReader(body))
	if err != nil {
		return errors.New("invalid endpoint")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "idbolt-connector")
	if a := configString(config, "authorization"); a != "" {
		req.Header.Set("Authorization", a)
	}
	if key := configString(config, "signingKey"); key != "" {
		req.Header.Set(signatureHeader, sign(key, body))
	}
	resp, err := m.client.Do(req)
	if err != nil {
		var ue *url.Error // it repeats the whole URL, whose query may hold a secret
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("request failed: %w", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxOutboundAnswer))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("the endpoint answered status %d", resp.StatusCode)
	}
	return nil
}

// sendSMTP sends msg as a text email through the SMTP server of config.
func (m *messenger) sendSMTP(ctx context.Context, config map[string]any, msg connectorMessage) error {
	to, err := mail.ParseAddress(msg.To)
	if err != nil || to.Address != msg.To {
		return &store.Error{Code: store.EINVALID, Detail: "guard.invalid_input", Field: "email", Message: "email: must be an email address"}
	}
	from, err := mail.ParseAddress(configString(config, "fromEmail"))
	if err != nil {
		return errors.New("fromEmail is not an email address")
	}
	host := configString(config, "host")
	port, _ := config["port"].(float64)
	ctx, cancel := context.WithTimeout(ctx, outboundTimeout)
	defer cancel()
	conn, err := m.dialer.DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(int(port))))
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { conn.Close() }) // a cancelled request stops the dialogue
	defer stop()
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("greeting: %w", err)
	}
	defer c.Close()
	if configString(config, "security") != store.SMTPNone {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return errors.New("the server does not offer STARTTLS")
		}
		tc := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
		if pemText := configString(config, "rootCertificate"); pemText != "" {
			if tc.RootCAs, err = store.ParseRootCertificates(pemText); err != nil {
				return err
			}
		}
		if err := c.StartTLS(tc); err != nil {
			return fmt.Errorf("STARTTLS: %w", err)
		}
	}
	if user := configString(config, "username"); user != "" {
		if err := c.Auth(smtp.PlainAuth("", user, configString(config, "password"), host)); err != nil {
			return fmt.Errorf("authentication: %w", err)
		}
	}
	if err := c.Mail(from.Address); err != nil {
		return fmt.Errorf("MAIL FROM: %w", err)
	}
	if err := c.Rcpt(to.Address); err != nil {
		return fmt.Errorf("RCPT TO: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if _, err := w.Write(composeEmail(from, to, msg, time.Now())); err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	return c.Quit()
}

// composeEmail returns the RFC 5322 text email of msg.
func composeEmail(from, to *mail.Address, msg connectorMessage, now time.Time) []byte {
	subject, text := messageText(msg)
	var id [12]byte
	rand.Read(id[:])
	domain := from.Address[strings.LastIndexByte(from.Address, '@')+1:]
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%s@%s>\r\n",
		from.String(), to.String(), mime.QEncoding.Encode("utf-8", subject), now.Format(time.RFC1123Z), hex.EncodeToString(id[:]), domain)
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	qp := quotedprintable.NewWriter(&b)
	qp.Write([]byte(strings.ReplaceAll(text, "\n", "\r\n")))
	qp.Close()
	return b.Bytes()
}

// messageText returns the subject and text of an SMTP email for msg.
func messageText(msg connectorMessage) (subject, text string) {
	code, _ := msg.Payload[payloadCode].(string)
	switch msg.Type {
	case messageOrganizationInvitation:
		org := "an organization"
		if o, ok := msg.Payload["organization"].(map[string]any); ok {
			if n, _ := o["name"].(string); n != "" {
				org = n
			}
		}
		subject = "Invitation to join " + org
		text = "You have been invited to join " + org + ".\n"
		if link, _ := msg.Payload["link"].(string); link != "" {
			text += "\nAccept the invitation: " + link + "\n"
		}
		if code != "" {
			text += "\nYour invitation code: " + code + "\n"
		}
		return subject, text
	case messageGeneric:
		if !msg.test {
			break
		}
		return "Test message", "This is a test message from idbolt: your connector works.\n\nCode: " + code + "\n"
	}
	return "Your verification code", "Your verification code is " + code + ".\nIt expires in 10 minutes.\n"
}
