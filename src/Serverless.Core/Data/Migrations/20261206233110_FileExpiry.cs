using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Serverless.Core.Data.Migrations
{
    /// <inheritdoc />
    public partial class FileExpiry : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<long>(
                name: "ExpiresAt",
                table: "Files",
                nullable: true);

            migrationBuilder.CreateIndex(
                name: "IX_Files_ExpiresAt",
                table: "Files",
                column: "ExpiresAt");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_Files_ExpiresAt",
                table: "Files");

            migrationBuilder.DropColumn(
                name: "ExpiresAt",
                table: "Files");
        }
    }
}
