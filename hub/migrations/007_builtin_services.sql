-- The hub's own agencies in the catalogue: each operation of the civil registry, emergency
-- services and utilities in the contract is a service of the provider subsystem
-- {instance}/GOV/{agency}/hub (catalogue/builtin-ids.ts). Their documents come from the
-- contract: the rows made here carry none yet, and every gateway writes them at start
-- (catalogue/builtin-services.ts), as it writes them again whenever the contract changed.
ALTER TABLE catalogue_service ADD COLUMN builtin boolean NOT NULL DEFAULT false;
-- The token scope the contract asks of the operation (built-in services only): with it a new
-- partner is granted the built-in services its scopes cover (partners/registry.ts).
ALTER TABLE catalogue_service ADD COLUMN contract_scope text;
ALTER TABLE catalogue_service ADD CONSTRAINT catalogue_service_builtin_scope CHECK (builtin = (contract_scope IS NOT NULL));

-- The operations as the contract has them today (a point-in-time list; the gateway keeps them current).
CREATE TEMPORARY TABLE builtin_operation (agency text, code text, method text, path text, scope text, personal boolean, title text) ON COMMIT DROP;
INSERT INTO builtin_operation VALUES
  ('civil-registry', 'identity.verify', 'POST', '/v1/identity-verifications', 'identity.verify', true, 'Verify that a name belongs to an identity number'),
  ('civil-registry', 'eid.verify', 'POST', '/v1/eid-verifications', 'eid.verify', true, 'Verify an e-ID credential'),
  ('emergency', 'incident.report', 'POST', '/v1/incidents', 'incidents.report', false, 'Report an emergency incident, or a change to one, as a CAP 1.2 alert'),
  ('emergency', 'incident.get', 'GET', '/v1/incidents/{id}', 'incidents.read', false, 'An incident''s current state'),
  ('utilities', 'account.lookup', 'GET', '/v1/utility-accounts', 'utilities.read', true, 'Utility accounts at an address');

INSERT INTO catalogue_service (id, subsystem, service_code, base_url, timeout_ms, document, methods, title, version, builtin, contract_scope)
SELECT current_setting('hub.instance') || '/GOV/' || agency || '/hub/' || code,
       current_setting('hub.instance') || '/GOV/' || agency || '/hub',
       code, 'hub:' || agency, 10000, '',
       jsonb_build_array(jsonb_build_object('method', method, 'path', path, 'personalData', personal)),
       title, '0', true, scope
FROM builtin_operation
ON CONFLICT (id) DO NOTHING;

-- Existing partners keep exactly what their scopes give them today: a right on each built-in
-- service whose scope they hold, for the purposes they may state (any, where the operation
-- touches no personal data and so asks for none).
INSERT INTO catalogue_grant (client, service_id, method, path, purposes)
SELECT p.subsystem, s.id, '*', '*', CASE WHEN o.personal THEN p.purposes ELSE ARRAY['*'] END
FROM partner p
JOIN builtin_operation o ON o.scope = ANY (p.scopes)
JOIN catalogue_service s ON s.id = current_setting('hub.instance') || '/GOV/' || o.agency || '/hub/' || o.code
ON CONFLICT DO NOTHING;
