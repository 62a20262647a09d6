-- A terminal id belongs to the terminal token that first used it
-- (PROTOCOL.md "Terminal identity"): another token naming it is refused.
CREATE TABLE terminal_bindings (
    terminal_id TEXT PRIMARY KEY,
    token_hash  TEXT   NOT NULL,
    bound_at    BIGINT NOT NULL
);

-- Every pair of configs ever linked, the current links included: a config
-- that once saw another's shared drafts may be told they are gone, and no
-- other config ever hears of them (PROTOCOL.md guarantee 10).
CREATE TABLE sync_links_ever (
    config_a BIGINT NOT NULL REFERENCES configs (id),
    config_b BIGINT NOT NULL REFERENCES configs (id),
    PRIMARY KEY (config_a, config_b),
    CHECK (config_a < config_b)
);

INSERT INTO sync_links_ever (config_a, config_b) SELECT config_a, config_b FROM sync_links;
