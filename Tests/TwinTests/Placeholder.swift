import Testing
@Test func placeholderTwinTests() { #expect(Bool(true)) }
