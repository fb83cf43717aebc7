package cutover

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	transitions   *prometheus.CounterVec
	autoRollbacks *prometheus.CounterVec
	refused       *prometheus.CounterVec
	held, errors  prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	const ns, sub = "brooks", "cutover"
	m := &metrics{
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "transitions_total",
			Help: "State changes written, by from, to and actor kind (operator, controller)."}, []string{"from", "to", "actor"}),
		autoRollbacks: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "automatic_rollbacks_total",
			Help: "Live customers the controller moved back to shadow, by the limit crossed."}, []string{"gate"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "advances_refused_total",
			Help: "Advances refused by unmet gates, by target state."}, []string{"to"}),
		held: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "rollbacks_held_down_total",
			Help: "Automatic rollbacks not made because of the hold-down."}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "round_errors_total",
			Help: "Controller rounds that failed (Cassandra, evidence) and were retried."}),
	}
	reg.MustRegister(m.transitions, m.autoRollbacks, m.refused, m.held, m.errors)
	return m
}
