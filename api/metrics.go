package api

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the api's Prometheus collectors. Labels are bounded: route is
// the registered pattern and tenant is an existing tenant's id, "-" for the
// system API, or "unknown" (never a raw id from the URL).
type metrics struct {
	requests  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	rateLimit *prometheus.CounterVec
	// sourceLimit counts requests refused because their source address
	// spent its budget of failed requests; no tenant label, since such
	// requests are not the tenant's.
	sourceLimit *prometheus.CounterVec
}

// dropTenant removes every series of tenant, so that /metrics stops naming
// a deleted tenant (and a tenant created later with its id starts at zero).
func (m *metrics) dropTenant(tenant string) {
	m.requests.DeletePartialMatch(prometheus.Labels{"tenant": tenant})
	m.rateLimit.DeletePartialMatch(prometheus.Labels{"tenant": tenant})
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "idbolt_http_requests_total",
			Help: "HTTP requests answered, by tenant, route pattern, method and status code.",
		}, []string{"tenant", "route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "idbolt_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route pattern and method.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route", "method"}),
		rateLimit: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "idbolt_rate_limit_hits_total",
			Help: "Requests refused with 429 by a rate limit, by tenant and route pattern.",
		}, []string{"tenant", "route"}),
		sourceLimit: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "idbolt_source_limit_hits_total",
			Help: "Requests refused with 429 because their source address spent its budget of failed requests, by route pattern.",
		}, []string{"route"}),
	}
	reg.MustRegister(m.requests, m.duration, m.rateLimit, m.sourceLimit)
	return m
}
