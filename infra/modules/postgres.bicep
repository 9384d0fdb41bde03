// Optional PostgreSQL Flexible Server for the ledger, for deployments with more than one instance (SQLite lives
// on one instance's disk). The app reaches it with a connection string kept in Key Vault; the password never
// appears in an app setting or an output.

import { keyVaultSecretNames } from 'keyVaultSecretNames.bicep'

@description('Server name (globally unique).')
param name string

@description('Azure region.')
param location string

@description('Tags for every resource.')
param tags object

@description('Administrator login the app connects as.')
param administratorLogin string

@description('Administrator password; also written into the connection-string secret.')
@secure()
param administratorPassword string

@description('Database the app uses.')
param databaseName string

@description('Vault the connection string is written to.')
param keyVaultName string

@description('Compute size; Burstable B1ms is enough for a ledger of one service.')
param skuName string

@description('Compute tier of skuName.')
@allowed([
  'Burstable'
  'GeneralPurpose'
  'MemoryOptimized'
])
param skuTier string

@description('Storage in GiB.')
@minValue(32)
param storageSizeGB int

resource server 'Microsoft.DBforPostgreSQL/flexibleServers@2024-08-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: skuName
    tier: skuTier
  }
  properties: {
    version: '16'
    administratorLogin: administratorLogin
    administratorLoginPassword: administratorPassword
    storage: {
      storageSizeGB: storageSizeGB
    }
    backup: {
      backupRetentionDays: 7
      geoRedundantBackup: 'Disabled'
    }
    highAvailability: {
      mode: 'Disabled'
    }
    authConfig: {
      activeDirectoryAuth: 'Disabled'
      passwordAuth: 'Enabled'
    }
    network: {
      publicNetworkAccess: 'Enabled'
    }
  }
}

resource database 'Microsoft.DBforPostgreSQL/flexibleServers/databases@2024-08-01' = {
  parent: server
  name: databaseName
  properties: {
    charset: 'UTF8'
    collation: 'en_US.utf8'
  }
}

// Without virtual network integration a Flex Consumption app leaves Azure from shared outbound addresses; the
// 0.0.0.0 rule is PostgreSQL's "allow connections from Azure services". TLS and the password still apply.
resource allowAzureServices 'Microsoft.DBforPostgreSQL/flexibleServers/firewallRules@2024-08-01' = {
  parent: server
  name: 'AllowAzureServices'
  properties: {
    startIpAddress: '0.0.0.0'
    endIpAddress: '0.0.0.0'
  }
}

resource vault 'Microsoft.KeyVault/vaults@2024-11-01' existing = {
  name: keyVaultName
}

resource connectionString 'Microsoft.KeyVault/vaults/secrets@2024-11-01' = {
  parent: vault
  name: keyVaultSecretNames.databaseConnectionString
  properties: {
    contentType: 'Npgsql connection string'
    value: 'Host=${server.properties.fullyQualifiedDomainName};Port=5432;Database=${database.name};Username=${administratorLogin};Password=${administratorPassword};Ssl Mode=Require'
  }
  dependsOn: [
    allowAzureServices
  ]
}

output serverName string = server.name
