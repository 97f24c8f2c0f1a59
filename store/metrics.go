package store

import (
	"github.com/prometheus/client_golang/prometheus"
	"go.etcd.io/bbolt"
)

// RegisterMetrics registers gauges of the data file with reg: its size and
// the number of tenants, both read at scrape time.
func (db *DB) RegisterMetrics(reg prometheus.Registerer) error {
	size := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "idbolt_db_file_size_bytes",
		Help: "Size of the data file.",
	}, func() float64 {
		n, err := db.Size()
		if err != nil {
			return 0
		}
		return float64(n)
	})
	tenants := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "idbolt_tenants",
		Help: "Number of tenants.",
	}, func() float64 {
		n := 0
		db.bolt.View(func(tx *bbolt.Tx) error {
			c := tx.Bucket(bucketTenants).Cursor()
			for k, _ := c.First(); k != nil; k, _ = c.Next() {
				n++
			}
			return nil
		})
		return float64(n)
	})
	for _, c := range []prometheus.Collector{size, tenants} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}
