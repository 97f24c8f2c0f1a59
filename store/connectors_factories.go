package store

import (
	"crypto/x509"
	"encoding/pem"
	"net"
	"net/mail"
	"slices"
	"strings"
)

// Connector types, as Logto names them. Social connectors need a sign-in
// flow idbolt does not have, so no factory makes them.
const (
	ConnectorEmail = "Email"
	ConnectorSms   = "Sms"
)

// The built-in connector factories' ids, Logto's ids for the same connectors.
const (
	FactoryHTTPEmail = "http-email"
	FactoryHTTPSms   = "http-sms"
	FactorySMTP      = "smtp"
)

// SMTP security modes (the smtp factory's security field).
const (
	SMTPStartTLS = "STARTTLS" // upgrade the connection before anything is sent; refuse a server that cannot
	SMTPNone     = "None"     // plain text, for a relay on a trusted network; no credentials allowed
)

// Form item types, as Logto names them.
const (
	FormText          = "Text"
	FormMultilineText = "MultilineText"
	FormNumber        = "Number"
	FormSwitch        = "Switch"
	FormSelect        = "Select"
)

// FormItem is one field of a connector factory's config form. A connector's
// config is validated against its factory's items: every key must be one of
// them, of the item's type, and a required one must be set.
type FormItem struct {
	Key         string
	Label       string
	Type        string
	Required    bool
	Description string
	// SelectItems are the values a FormSelect item takes.
	SelectItems []string
	// DefaultValue is what an absent optional item means; nil for none.
	DefaultValue any
	// Confidential items (passwords, authorization headers) are sealed
	// with the master key at rest and masked (ConfigMask) in every answer.
	Confidential bool
}

// ConnectorFactory is a kind of connector idbolt can make: Logto's
// connector factory, limited to the built-in passwordless ones.
type ConnectorFactory struct {
	ID          string
	Type        string // ConnectorEmail or ConnectorSms
	Target      string
	Name        string
	Description string
	Readme      string
	FormItems   []FormItem
	// check validates what the form cannot say (URLs, ports, addresses);
	// config holds every item, defaults filled in.
	check func(config map[string]any) error
}

// ConfigMask stands for a confidential config value in every answer. Sent
// back in a config (an edited copy of a connector's config), it keeps the
// stored value.
const ConfigMask = "******"

// maxConfigText bounds a config string; a PEM certificate bundle fits.
const maxConfigText = 16 << 10

// httpFactory is the factory of an HTTP connector of type typ, which POSTs
// each message (what) to an endpoint.
func httpFactory(id, typ, target, name, what string) *ConnectorFactory {
	return &ConnectorFactory{
		ID: id, Type: typ, Target: target, Name: name,
		Description: "Sends each " + what + " as a JSON POST to an HTTP endpoint you run.",
		Readme: "POSTs {\"to\", \"type\", \"payload\"} as JSON to the endpoint, with the Authorization header when one is set " +
			"and a Logto-Signature-Sha-256 header when a signing key is. The endpoint answers 2xx once it has taken the " + what + ".",
		FormItems: []FormItem{
			{Key: "endpoint", Label: "Endpoint", Type: FormText, Required: true, Description: "The http or https URL that receives the " + what + "s."},
			{Key: "authorization", Label: "Authorization", Type: FormText, Confidential: true,
				Description: "The Authorization header sent with each request, e.g. Bearer <token>."},
			{Key: "signingKey", Label: "Signing key", Type: FormText, Confidential: true,
				Description: "When set, each request carries Logto-Signature-Sha-256, the hex HMAC-SHA256 of the body with this key " +
					"(as the email webhook did; an upgrade moves its key here)."},
		},
		check: checkHTTPConnector,
	}
}

// connectorFactories lists the built-in factories. A declarative table,
// never changed.
var connectorFactories = []*ConnectorFactory{
	httpFactory(FactoryHTTPEmail, ConnectorEmail, "http-email", "HTTP email", "email"),
	httpFactory(FactoryHTTPSms, ConnectorSms, "http-sms", "HTTP SMS", "text message"),
	{
		ID: FactorySMTP, Type: ConnectorEmail, Target: "smtp", Name: "SMTP",
		Description: "Sends emails through an SMTP server, upgraded to TLS with STARTTLS.",
		Readme: "Connects to host:port, upgrades with STARTTLS (verifying the server's certificate against the system's roots, " +
			"or rootCertificate when set), authenticates with PLAIN when a username is set, and sends a text email from fromEmail. " +
			"Security None sends in clear and allows no credentials.",
		FormItems: []FormItem{
			{Key: "host", Label: "Host", Type: FormText, Required: true},
			{Key: "port", Label: "Port", Type: FormNumber, DefaultValue: 587.0},
			{Key: "security", Label: "Security", Type: FormSelect, SelectItems: []string{SMTPStartTLS, SMTPNone}, DefaultValue: SMTPStartTLS},
			{Key: "username", Label: "Username", Type: FormText},
			{Key: "password", Label: "Password", Type: FormText, Confidential: true},
			{Key: "fromEmail", Label: "From", Type: FormText, Required: true, Description: "The sender's address, e.g. Example <no-reply@example.com>."},
			{Key: "rootCertificate", Label: "Root certificate", Type: FormMultilineText,
				Description: "PEM certificates to trust for this server instead of the system's roots (an internal CA)."},
		},
		check: checkSMTPConnector,
	},
}

// ConnectorFactories returns the built-in factories in a fixed order.
func ConnectorFactories() []*ConnectorFactory { return connectorFactories }

// FindConnectorFactory returns factory id. Returns ENOTFOUND.
func FindConnectorFactory(id string) (*ConnectorFactory, error) {
	for _, f := range connectorFactories {
		if f.ID == id {
			return f, nil
		}
	}
	return nil, detailErrorf(ENOTFOUND, "entity.not_found", "The connector factory %q does not exist.", id)
}

// errInvalidConfig is the error of a config its factory refuses.
func errInvalidConfig(format string, args ...any) *Error {
	e := detailErrorf(EINVALID, "connector.invalid_config", "The connector's config is invalid: "+format+".", args...)
	e.Field = "config"
	return e
}

// validateConfig checks config against f's form and returns it with the
// defaults of absent optional items filled in.
func (f *ConnectorFactory) validateConfig(config map[string]any) (map[string]any, error) {
	items := make(map[string]*FormItem, len(f.FormItems))
	for i := range f.FormItems {
		items[f.FormItems[i].Key] = &f.FormItems[i]
	}
	for k := range config {
		if items[k] == nil {
			return nil, errInvalidConfig("unknown field %q", k)
		}
	}
	out := make(map[string]any, len(f.FormItems))
	for _, it := range f.FormItems {
		v, ok := config[it.Key]
		if !ok || v == nil || v == "" {
			if it.Required {
				return nil, errInvalidConfig("%s is required", it.Key)
			}
			if it.DefaultValue != nil {
				out[it.Key] = it.DefaultValue
			}
			continue
		}
		switch it.Type {
		case FormText, FormMultilineText:
			s, ok := v.(string)
			if !ok || len(s) > maxConfigText || !validText(s, it.Type == FormMultilineText) {
				return nil, errInvalidConfig("%s must be a string of at most %d bytes", it.Key, maxConfigText)
			}
		case FormNumber:
			if _, ok := v.(float64); !ok {
				return nil, errInvalidConfig("%s must be a number", it.Key)
			}
		case FormSwitch:
			if _, ok := v.(bool); !ok {
				return nil, errInvalidConfig("%s must be true or false", it.Key)
			}
		case FormSelect:
			s, ok := v.(string)
			if !ok || !slices.Contains(it.SelectItems, s) {
				return nil, errInvalidConfig("%s must be one of %s", it.Key, strings.Join(it.SelectItems, ", "))
			}
		}
		out[it.Key] = v
	}
	if err := f.check(out); err != nil {
		return nil, err
	}
	return out, nil
}

// validText reports whether s is valid UTF-8 without control characters
// (line breaks allowed when multiline): a header value or an SMTP command
// must not be able to carry a second line.
func validText(s string, multiline bool) bool {
	for _, r := range s {
		if r == 0xfffd || (r < 0x20 && !(multiline && (r == '\n' || r == '\r' || r == '\t'))) || r == 0x7f {
			return false
		}
	}
	return true
}

func configString(config map[string]any, key string) string {
	s, _ := config[key].(string)
	return s
}

func checkHTTPConnector(config map[string]any) error {
	if !isWebURL(configString(config, "endpoint")) {
		return errInvalidConfig("endpoint must be an http or https URL")
	}
	return nil
}

func checkSMTPConnector(config map[string]any) error {
	host := configString(config, "host")
	if len(host) > 253 || strings.ContainsAny(host, " /:@") && net.ParseIP(host) == nil {
		return errInvalidConfig("host must be a host name or an IP address")
	}
	if p, _ := config["port"].(float64); p < 1 || p > 65535 || p != float64(int(p)) {
		return errInvalidConfig("port must be a whole number from 1 to 65535")
	}
	if _, err := mail.ParseAddress(configString(config, "fromEmail")); err != nil {
		return errInvalidConfig("fromEmail must be an email address")
	}
	if configString(config, "security") == SMTPNone && (configString(config, "username") != "" || configString(config, "password") != "") {
		return errInvalidConfig("credentials need security STARTTLS: they would cross the network in clear")
	}
	if configString(config, "password") != "" && configString(config, "username") == "" {
		return errInvalidConfig("a password needs a username")
	}
	if pemText := configString(config, "rootCertificate"); pemText != "" {
		if _, err := ParseRootCertificates(pemText); err != nil {
			return err
		}
	}
	return nil
}

// ParseRootCertificates parses the PEM certificates of an SMTP connector's
// rootCertificate into a pool. It fails unless there is at least one
// certificate and nothing else.
func ParseRootCertificates(pemText string) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	rest := []byte(pemText)
	n := 0
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, errInvalidConfig("rootCertificate: a PEM block of type %q is not a certificate", block.Type)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, errInvalidConfig("rootCertificate: a certificate does not parse")
		}
		pool.AddCert(c)
		n++
	}
	if n == 0 || strings.TrimSpace(string(rest)) != "" {
		return nil, errInvalidConfig("rootCertificate must hold PEM certificates and nothing else")
	}
	return pool, nil
}
