#!/usr/bin/env bash
# Adds an EF Core migration that runs on both SQLite and PostgreSQL (see README.md in this folder).
#
#   src/Serverless.Core/Data/Migrations/add-migration.sh AddLedger   generate with dotnet-ef, then neutralize
#   src/Serverless.Core/Data/Migrations/add-migration.sh --neutralize   only neutralize the existing files
#
# dotnet-ef generates against SQLite (the design-time factory). Neutralizing then rewrites every file here:
#   - drops `type: "..."` / `oldType: "..."` arguments and `.HasColumnType("...")` calls, so each provider
#     maps the CLR type itself (long -> INTEGER / bigint, string -> TEXT / varchar(n), byte[] -> BLOB / bytea);
#   - gives every `Sqlite:Autoincrement` annotation a PostgreSQL identity twin.
# Both steps are idempotent. ProviderNeutralMigrationTests fails when a file was not neutralized.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../../.." && pwd)"

neutralize() {
  local file
  for file in "$here"/*.cs; do
    perl -0pi -e '
      s/\n[ \t]*\.HasColumnType\("[^"]*"\)//g;
      s/\b(?:type|oldType):\s*"[^"]*",\s*//g;
      s/,\s*\b(?:type|oldType):\s*"[^"]*"(?=\s*\))//g;
      s/^([ \t]*)\.(Annotation|OldAnnotation)\("Sqlite:Autoincrement", true\)(?!\s*\.\2\("Npgsql:ValueGenerationStrategy")/$1.$2("Sqlite:Autoincrement", true)\n$1.$2("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn)/mg;
      if (/NpgsqlValueGenerationStrategy\./ && !/^using Npgsql\.EntityFrameworkCore\.PostgreSQL\.Metadata;/m) {
        s/^((?:\xEF\xBB\xBF)?using Microsoft\.EntityFrameworkCore\.Migrations;\r?\n)/$1using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;\n/m;
      }
    ' "$file"
  done
}

if [ "${1:-}" = "--neutralize" ]; then
  neutralize
  exit 0
fi

if [ -z "${1:-}" ]; then
  echo "usage: $0 MigrationName | --neutralize" >&2
  exit 2
fi

cd "$root"
dotnet tool restore >/dev/null
dotnet ef migrations add "$1" --project src/Serverless.Core --output-dir Data/Migrations
neutralize
echo "Neutralized. Review the new migration, then run: dotnet test tests/Serverless.Core.Tests --filter FullyQualifiedName~Serverless.Core.Tests.Data"
