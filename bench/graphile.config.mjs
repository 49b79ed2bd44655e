// PostGraphile 5 over the service's database, for bench/load.sh: the amber preset with simplified
// inflection (`practices`, `city`, `donor` instead of `allPractices`, `cityByCityId`, …).
// The script copies this file next to the npm packages it installed, so that the imports resolve.
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { makePgService } from "postgraphile/adaptors/pg";
import { PgSimplifyInflectionPreset } from "@graphile/simplify-inflection";

/** @type {GraphileConfig.Preset} */
const preset = {
  extends: [PostGraphileAmberPreset, PgSimplifyInflectionPreset],
  pgServices: [
    makePgService({
      connectionString: process.env.BENCH_DATABASE_URL,
      schemas: ["public"],
      // The same number of database connections as the service's pool on PostgreSQL.
      poolConfig: { max: 16 },
    }),
  ],
  grafserv: {
    host: "127.0.0.1",
    port: Number(process.env.BENCH_POSTGRAPHILE_PORT),
    graphiql: false,
    watch: false,
  },
  grafast: { explain: false },
};

export default preset;
