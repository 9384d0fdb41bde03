using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Serverless.Core.Data.Migrations
{
    /// <inheritdoc />
    public partial class InstanceLoad : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "ModelsLoaded",
                table: "Instances",
                maxLength: 2048,
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "Queued",
                table: "Instances",
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "Slots",
                table: "Instances",
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "SlotsInUse",
                table: "Instances",
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "ModelsLoaded",
                table: "Instances");

            migrationBuilder.DropColumn(
                name: "Queued",
                table: "Instances");

            migrationBuilder.DropColumn(
                name: "Slots",
                table: "Instances");

            migrationBuilder.DropColumn(
                name: "SlotsInUse",
                table: "Instances");
        }
    }
}
