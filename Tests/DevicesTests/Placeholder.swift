import Testing
@Test func placeholderDevicesTests() { #expect(Bool(true)) }
