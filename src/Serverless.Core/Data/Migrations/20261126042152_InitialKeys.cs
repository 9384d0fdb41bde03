using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Serverless.Core.Data.Migrations
{
    /// <inheritdoc />
    public partial class InitialKeys : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "Customers",
                columns: table => new
                {
                    Id = table.Column<string>(maxLength: 64, nullable: false),
                    Name = table.Column<string>(maxLength: 200, nullable: false),
                    CreatedAt = table.Column<long>(nullable: false),
                    Disabled = table.Column<bool>(nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Customers", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "ApiKeys",
                columns: table => new
                {
                    KeyId = table.Column<string>(maxLength: 12, nullable: false),
                    CustomerId = table.Column<string>(maxLength: 64, nullable: false),
                    Name = table.Column<string>(maxLength: 100, nullable: false),
                    Hash = table.Column<byte[]>(maxLength: 32, nullable: false),
                    Prefix = table.Column<string>(maxLength: 16, nullable: false),
                    LastFour = table.Column<string>(maxLength: 4, nullable: false),
                    ModelScope = table.Column<string>(maxLength: 4000, nullable: true),
                    CreatedAt = table.Column<long>(nullable: false),
                    ExpiresAt = table.Column<long>(nullable: true),
                    RevokedAt = table.Column<long>(nullable: true),
                    LastUsedAt = table.Column<long>(nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_ApiKeys", x => x.KeyId);
                    table.ForeignKey(
                        name: "FK_ApiKeys_Customers_CustomerId",
                        column: x => x.CustomerId,
                        principalTable: "Customers",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Restrict);
                });

            migrationBuilder.CreateIndex(
                name: "IX_ApiKeys_CustomerId",
                table: "ApiKeys",
                column: "CustomerId");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "ApiKeys");

            migrationBuilder.DropTable(
                name: "Customers");
        }
    }
}
