-- The node an RTU is placed on (docs/nodes.md), PostgreSQL flavour: 'central' is wtcd itself,
-- any other name an edge node (wtc-edge) whose rtu_actor polls it. Existing RTUs stay on wtcd.
ALTER TABLE rtus ADD COLUMN node VARCHAR(32) NOT NULL DEFAULT 'central' CHECK (length(node) > 0);
CREATE INDEX idx_rtus_node ON rtus (node);
