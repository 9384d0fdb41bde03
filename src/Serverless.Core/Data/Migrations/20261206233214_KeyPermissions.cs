using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Serverless.Core.Data.Migrations
{
    /// <inheritdoc />
    public partial class KeyPermissions : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            // Existing keys keep what they could do before permissions existed: inference, batches and usage.read.
            migrationBuilder.AddColumn<string>(
                name: "Permissions",
                table: "ApiKeys",
                maxLength: 200,
                nullable: false,
                defaultValue: "inference,batches,usage.read");

            // keys.manage (creating and revoking keys in the dashboard) stays with one key per customer: its oldest key
            // that is not revoked (ties broken by key id), the key an account starts with. Valid SQL on both providers.
            migrationBuilder.Sql(
                """
                UPDATE "ApiKeys" SET "Permissions" = 'inference,batches,usage.read,keys.manage'
                WHERE "RevokedAt" IS NULL AND NOT EXISTS (
                    SELECT 1 FROM "ApiKeys" AS "Older"
                    WHERE "Older"."CustomerId" = "ApiKeys"."CustomerId" AND "Older"."RevokedAt" IS NULL
                      AND ("Older"."CreatedAt" < "ApiKeys"."CreatedAt"
                           OR ("Older"."CreatedAt" = "ApiKeys"."CreatedAt" AND "Older"."KeyId" < "ApiKeys"."KeyId")))
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "Permissions",
                table: "ApiKeys");
        }
    }
}
